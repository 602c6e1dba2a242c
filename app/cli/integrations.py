"""The institution's systems: LMS platforms (`nabij lti …`, docs/lti.md) and sign-in (`nabij oidc check`)."""

from __future__ import annotations

import sys

import click

from app.cli import main
from app.cli.common import (
    CliError,
    class_command,
)

# -- LTI 1.3: the LMS platforms that launch Nabij (app/lti, docs/lti.md) ---------------------------


@main.group("lti")
def lti_group() -> None:
    """Register LMS platforms (LTI 1.3) and manage Nabij's signing key."""


@lti_group.command("register")
@click.option(
    "--issuer", required=True, help="The platform's issuer (platform ID), e.g. https://canvas.instructure.com."
)
@click.option("--client-id", required=True, help="The client id the LMS gave Nabij.")
@click.option("--auth-login-url", required=True, help="The LMS's OIDC authentication request URL.")
@click.option("--auth-token-url", required=True, help="The LMS's OAuth2 access token URL.")
@click.option("--jwks-url", required=True, help="The LMS's public keyset (JWKS) URL.")
@click.option("--deployment-id", required=True, help="The deployment id of this installation of the tool.")
@click.option("--name", default="", help='A name for people, e.g. "Canvas HoGent".')
@click.option(
    "--frame-origin",
    "frame_origins",
    multiple=True,
    help="Another origin whose pages show Nabij in a frame (e.g. https://hogent.instructure.com); repeatable.",
)
@class_command
def lti_register(
    settings, session, issuer, client_id, auth_login_url, auth_token_url, jwks_url, deployment_id, name, frame_origins
) -> None:
    """Register one platform + deployment; prints its id and Nabij's URLs for the LMS."""
    from app.lti import keys, registration

    try:
        platform = registration.register(
            session,
            {
                "issuer": issuer,
                "client_id": client_id,
                "auth_login_url": auth_login_url,
                "auth_token_url": auth_token_url,
                "jwks_url": jwks_url,
                "deployment_id": deployment_id,
                "name": name,
                "frame_origins": " ".join(frame_origins),
            },
            production=settings.is_production,
        )
    except registration.RegistrationError as error:
        raise CliError(
            "; ".join(f"--{field.replace('_', '-')}: {message}" for field, message in error.errors.items())
        ) from None
    keys.ensure_key(session)
    urls = registration.ToolUrls.at(settings.base_url)
    click.echo(
        f"registered platform {platform.id}: {platform.issuer} client {platform.client_id} "
        f"deployment {platform.deployment_id}"
    )
    click.echo(
        f"  login initiation URL: {urls.login}\n  launch/redirect URL:  {urls.launch}\n"
        f"  deep linking URL:     {urls.deep_linking}\n  JWKS URL:             {urls.jwks}"
    )


@lti_group.command("list")
@class_command
def lti_list(settings, session) -> None:
    """The registered platforms, one per line: id, issuer, client id, deployment id, name."""
    from app.lti import registration

    platforms = registration.platforms(session)
    if not platforms:
        click.echo("no platforms registered")
    for platform in platforms:
        click.echo(f"{platform.id}\t{platform.issuer}\t{platform.client_id}\t{platform.deployment_id}\t{platform.name}")


@lti_group.command("remove")
@click.argument("platform_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@class_command
def lti_remove(settings, session, platform_id: int, yes: bool) -> None:
    """Remove registration PLATFORM_ID: its launches stop working (classes and accounts stay)."""
    from app.lti import registration
    from app.models import LtiPlatform

    platform = session.get(LtiPlatform, platform_id)
    if platform is None:
        raise CliError(f"there is no platform with id {platform_id} (see `nabij lti list`).")
    if not yes:
        click.confirm(f"Remove {platform.issuer} deployment {platform.deployment_id}?", abort=True)
    registration.remove(session, platform_id=platform_id)
    click.echo(f"removed platform {platform_id}")


@lti_group.command("rotate-key")
@class_command
def lti_rotate_key(settings, session) -> None:
    """Sign with a new key from now on; the old key stays in the JWKS until its tokens have expired."""
    from app.lti import keys

    new, retired = keys.rotate(session)
    click.echo(
        f"new signing key {new.kid}; {len(retired)} previous key(s) kept in the JWKS for "
        f"{int(keys.KEEP_RETIRED.total_seconds() // 3600)} hours"
    )


@main.group("oidc")
def oidc_group() -> None:
    """Institution sign-in with OpenID Connect (docs/sso.md)."""


@oidc_group.command("check")
def oidc_check() -> None:
    """Fetch the discovery document and the JWKS; say in one line what is wrong, if anything."""
    from app.config import Settings
    from app.services.oidc import check_provider, config_from, redirect_uri

    settings = Settings()  # read now: IT staff run this right after changing the environment
    problem = check_provider(settings)
    if problem:
        click.echo(f"oidc check: {problem}", err=True)
        sys.exit(1)
    config = config_from(settings)
    click.echo(f"oidc check: ok: {config.issuer} (client {config.client_id}; redirect URI {redirect_uri(settings)})")


if __name__ == "__main__":
    main()
