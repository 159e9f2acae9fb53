// Package imapserve serves the mail store to legacy apps over IMAP and
// POP3 (the POP3 wire protocol is in imapserve/pop3; the adapter to the
// store, NewPOP3Backend, is here).
//
// Server serves the store over IMAP4rev1 with go-imap/v2's imapserver doing
// the wire protocol. Its Serve and ServeTLS accept connections themselves
// (per-IP cap) and hand them to one of two go-imap servers: go-imap decides
// whether a login without TLS is allowed per server, not per connection, so
// connections from Options.AllowPlaintext networks go to one with
// InsecureAuth and all others to one without (LOGINDISABLED and
// NO [PRIVACYREQUIRED] until STARTTLS). Each connection is wrapped in a
// netConn (under the *tls.Conn for implicit TLS and after STARTTLS, so
// go-imap still sees the *tls.Conn it checks for): it turns go-imap's fixed
// deadlines into deadlines that move with progress, and its 35-minute wait
// for the next command into Options.IdleTimeout with a BYE.
//
// A session (one per connection) implements imapserver.Session on the
// store, always within the logged-in account; every command's mailbox name
// goes through mailstore.CanonicalMailbox. The selected mailbox is a view:
// the UIDs the client knows, in sequence-number order. One store
// Subscription, read by the hub, queues committed changes on the views of
// the changed mailbox; a view tells its client at the points IMAP allows
// (EXPUNGE never during FETCH, STORE or SEARCH) and at once in IDLE. Each
// view keeps its own numbering, so no shared tracker has to see every
// session's updates in one order (go-imap's MailboxTracker panics when it
// does not). Before a session reports updates (and before STATUS) it
// waits for the hub to catch up with the store, so a command completed on
// one connection shows in the next command on another. If the hub falls
// behind the store's change log, views re-read their mailbox and tell the
// difference. docs/IMAP.md has the imaptest results.
//
// FETCH takes ENVELOPE, BODYSTRUCTURE and the offsets of every
// BODY[section] from the structure the store parsed at delivery
// (mailstore/structure), never from re-parsing the message, and streams
// bodies from a BlobReader chunk by chunk: BODY[] is the stored bytes,
// RFC822.SIZE their number. BINARY undoes base64 and quoted-printable
// leniently. SEARCH decodes RFC 2047 words, transfer encodings and charsets
// and matches substrings without regard to case, as Dovecot does without a
// full-text index.
//
// Where RFC 3501 leaves room, the server does what Dovecot does: a
// sequence set beyond the last message is BAD; a FETCH of messages another
// session expunged answers OK [EXPUNGEISSUED]; a failed body read in the
// middle of a literal closes the connection; the selected mailbox deleted
// gives BYE; DELETE of a mailbox with children is NO [HASCHILDREN];
// addresses without a domain get MISSING_DOMAIN; an empty multipart shows
// an empty text/plain part.
//
// Every session method recovers from panics: it logs them with the
// connection id and answers NO [SERVERBUG]; a panic in the middle of a
// FETCH response closes that connection, as the response cannot be
// finished.
package imapserve
