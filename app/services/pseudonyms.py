"""Pseudonyms and opaque references for anonymised review: pure functions of a secret key.

A student's pseudonym is derived from HMAC(secret, "pseudonym:{class_id}:{user_id}") plus, by default,
the prompt ("…:{scope}" with scope "module/prompt"): a new pseudonym per prompt, so answers to
different prompts cannot be put side by side to narrow down who wrote them. A class may choose one
pseudonym across prompts (scope ""), at the cost explained in its settings. Different across classes,
and not derivable from the roster or its order without the secret. Nothing here touches the
database; callers pass the ids they already have.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable

# Dutch trees and birds: easy to read aloud in class, none of them a common first name.
WORDS = (
    # trees
    "Berk",
    "Beuk",
    "Eik",
    "Els",
    "Esdoorn",
    "Hazelaar",
    "Iep",
    "Linde",
    "Lijsterbes",
    "Meidoorn",
    "Populier",
    "Wilg",
    "Den",
    "Spar",
    "Lariks",
    "Taxus",
    "Hulst",
    "Vlier",
    "Kastanje",
    "Plataan",
    "Walnoot",
    "Sleedoorn",
    "Haagbeuk",
    "Jeneverbes",
    "Ceder",
    "Cipres",
    "Vogelkers",
    "Zomereik",
    "Treurwilg",
    "Ratelpopulier",
    "Vuilboom",
    "Kardinaalsmuts",
    # birds
    "Merel",
    "Koolmees",
    "Pimpelmees",
    "Vink",
    "Reiger",
    "Specht",
    "Zwaluw",
    "Lijster",
    "Roodborst",
    "Winterkoning",
    "Kievit",
    "Grutto",
    "Ekster",
    "Gaai",
    "Spreeuw",
    "Kauw",
    "Buizerd",
    "Torenvalk",
    "IJsvogel",
    "Boomklever",
    "Goudvink",
    "Putter",
    "Tureluur",
    "Scholekster",
    "Wulp",
    "Fuut",
    "Meerkoet",
    "Koekoek",
    "Nachtegaal",
    "Leeuwerik",
    "Kwikstaart",
    "Staartmees",
)
# Crockford's base32: no I, L, O or U, so a code is not misread when it is said or projected.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 3
REF_LENGTH = 16


def _digest(secret: bytes, message: str) -> bytes:
    return hmac.new(secret, message.encode(), hashlib.sha256).digest()


def _code(digest: bytes, length: int) -> str:
    """`length` base32 characters from the digest bytes after the two used for the word."""
    number = int.from_bytes(digest[2:], "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)


def _label(digest: bytes, length: int = CODE_LENGTH) -> str:
    word = WORDS[int.from_bytes(digest[:2], "big") % len(WORDS)]
    return f"{word} {_code(digest, length)}"


def pseudonym_digest(secret: bytes, *, class_id: int, user_id: int, scope: str = "") -> bytes:
    return _digest(secret, f"pseudonym:{class_id}:{user_id}" + (f":{scope}" if scope else ""))


def pseudonym(secret: bytes, *, class_id: int, user_id: int, scope: str = "") -> str:
    """The label of one student in one class, before collisions within the class are resolved."""
    return _label(pseudonym_digest(secret, class_id=class_id, user_id=user_id, scope=scope))


def prompt_scope(module_slug: str, prompt_id: str) -> str:
    return f"{module_slug}/{prompt_id}"


def class_pseudonyms(secret: bytes, *, class_id: int, user_ids: Iterable[int], scope: str = "") -> dict[int, str]:
    """A distinct label for every student of a class.

    Pass all students of the class (not only those on one page), so a student's label is the same on
    every page. Two students whose short labels collide both get a longer code, taken further from
    their own digests: the outcome depends only on the set of colliding students, never on their
    ids' order or on when they enrolled.
    """
    digests = {
        user_id: pseudonym_digest(secret, class_id=class_id, user_id=user_id, scope=scope) for user_id in set(user_ids)
    }
    labels: dict[int, str] = {}
    pending = dict.fromkeys(digests, CODE_LENGTH)
    while pending:
        groups: dict[str, list[int]] = defaultdict(list)
        for user_id, length in pending.items():
            groups[_label(digests[user_id], length)].append(user_id)
        taken = set(labels.values())
        next_round = {}
        for label, members in groups.items():
            if len(members) == 1 and label not in taken:
                labels[members[0]] = label
            else:
                for user_id in members:
                    next_round[user_id] = pending[user_id] + 1
        pending = next_round
    return labels


def answer_ref(secret: bytes, *, class_id: int, answer_id: int) -> str:
    """An opaque reference to an answer for links and forms; resolved only among the answers of a class."""
    return hmac.new(secret, f"answer-ref:{class_id}:{answer_id}".encode(), hashlib.sha256).hexdigest()[:REF_LENGTH]


def shuffle_key(secret: bytes, *, class_id: int, prompt_id: str, answer_id: int) -> bytes:
    """A sort key that shuffles the answers of a prompt: fixed between page loads (nothing jumps while
    a lecturer works through them), unrelated to user ids, names or the order of enrolment."""
    return _digest(secret, f"order:{class_id}:{prompt_id}:{answer_id}")
