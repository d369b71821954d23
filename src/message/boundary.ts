import { randomBytes } from 'node:crypto'

/**
 * Makes a random MIME multipart boundary (RFC 2046 §5.1.1): `=_` followed by 24 base64url
 * characters (144 random bits), 26 characters in all.
 *
 * Why a boundary can never occur in the content it delimits:
 * - base64 parts: their lines use only `A-Z a-z 0-9 + / =`, so no line starts with `--`;
 * - quoted-printable parts: our encoder writes `=` only before two hex digits or a line break,
 *   so `=_` never appears in them at all;
 * - 7bit and 8bit parts: they are always in memory (streamed content is base64 or
 *   quoted-printable), and compose() searches them and draws again on the (2^-144) chance of a
 *   match;
 * - part headers never start with `--`;
 * - nested multiparts: every boundary in a message has the same length and they are distinct, so
 *   none is a prefix of another (the trap RFC 2046 §5.1.2 warns of).
 *
 * The `=` forces the Content-Type parameter to be quoted, which compose() does.
 */
export function createBoundary(): string {
  return `=_${randomBytes(18).toString('base64url')}`
}
