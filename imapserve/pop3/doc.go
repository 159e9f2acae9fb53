// Package pop3 is a POP3 server (RFC 1939) with the extensions legacy
// clients look for: CAPA and response codes (RFC 2449), STLS (RFC 2595),
// SASL AUTH PLAIN and LOGIN with initial response (RFC 5034), and the AUTH
// and SYS/TEMP response codes (RFC 3206).
//
// It knows nothing of the store: a Backend checks credentials and hands out
// a Maildrop, a snapshot of messages numbered 1..n for the session. The
// states are RFC 1939's: AUTHORIZATION until a login succeeds, TRANSACTION
// (DELE only marks, RSET unmarks), and UPDATE, entered only by QUIT, where
// Commit removes the marked messages. A dropped or timed-out connection never
// commits.
//
// RETR and TOP send every line ending as CRLF (a bare LF becomes CRLF; a lone
// CR is data) and dot-stuff lines that start with ".", so the octet counts
// of LIST and STAT, which the backend computes with CRLF line endings, are
// what RETR sends before stuffing.
//
// APOP is not offered: it needs the plaintext password on the server, and
// maildock stores only hashes.
package pop3
