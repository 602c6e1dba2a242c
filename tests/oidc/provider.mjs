// The institution's OpenID provider for Nabij's tests: panva's oidc-provider (OpenID Certified), with
// its development login and consent pages (they accept a POST), one confidential client with public
// subjects and one with pairwise subjects, and eduPerson claims. Started by tests/oidc/provider.py.
//
// Usage: node provider.mjs '<json>' with {"redirect_uris": [...], "post_logout_redirect_uris": [...]}.
// Prints one JSON line {"issuer": ...} on standard output once it listens (on a free port).
// Test accounts: POST /__test__/accounts with {"<login>": {claims}} adds or replaces accounts.
import { createHash, generateKeyPairSync } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const options = JSON.parse(process.argv[2] || '{}');
const accounts = {
  student1: { name: 'Sanne de Vries', email: 'sanne@student.hogeschool.test', eduperson_affiliation: ['student', 'member'] },
  staff1: { name: 'Pieter Jansen', email: 'pieter@hogeschool.test', eduperson_affiliation: ['employee', 'member'] },
};

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', use: 'sig', alg: 'RS256' };
}

const client = (id, subjectType) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  // Pairwise subjects are per sector (host): redirect URIs on two hosts would need a sector_identifier_uri.
  redirect_uris: subjectType === 'pairwise' ? (options.redirect_uris || []).slice(0, 1) : options.redirect_uris || [],
  post_logout_redirect_uris: subjectType === 'pairwise' ? (options.post_logout_redirect_uris || []).slice(0, 1)
    : options.post_logout_redirect_uris || [],
  response_types: ['code'],
  grant_types: ['authorization_code'],
  token_endpoint_auth_method: 'client_secret_basic',
  subject_type: subjectType,
});

const configuration = {
  clients: [client('nabij', 'public'), client('nabij-pairwise', 'pairwise')],
  subjectTypes: ['public', 'pairwise'],
  async pairwiseIdentifier(ctx, accountId, c) {
    return createHash('sha256').update(`${c.sectorIdentifier}|${accountId}|nabij-test-salt`).digest('hex');
  },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'eduperson_affiliation'],
    email: ['email', 'email_verified'],
  },
  async findAccount(ctx, id) {
    if (!accounts[id]) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...accounts[id] };
      },
    };
  },
  pkce: { required: () => true },
  jwks: { keys: [signingKey()] },
  cookies: { keys: ['nabij-test-cookie-key'] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  provider.use(async (ctx, next) => {
    if (ctx.path === '/__test__/accounts' && ctx.method === 'POST') {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      Object.assign(accounts, JSON.parse(Buffer.concat(chunks).toString() || '{}'));
      ctx.status = 204;
      return;
    }
    await next();
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
