// Package mailstore keeps maildock's mail in a single bbolt file. It is the
// single source of truth: SMTP delivers into it, IMAP and POP3 read and change
// it, the drop-folder writer reads from it.
//
// # Schema (version 1)
//
// All integers are big-endian so that bbolt's byte order is numeric order.
//
//	meta/                    "schema" -> u32 schema version
//	                         "uidvalidity" -> u32 last UIDVALIDITY handed out
//	                         "modseq" -> u64 last modification sequence
//	accounts/<account>/      one bucket per account, made on first use
//	    mailboxes/<name>/    one bucket per mailbox ("INBOX" made on first use)
//	        "info"           -> mailboxInfo: UIDVALIDITY, UIDNEXT, subscribed, created
//	        msgs/<uid u32>   -> msgRecord: blob id, internal date, size, CRLF size,
//	                            modseq, flags
//	blobs/<id u64>           -> blobRecord: size, CRLF size, chunk count, reference count
//	chunks/<id u64><n u32>   -> the n-th chunk of the blob's bytes (ChunkSize each, the last shorter)
//	structs/<id u64>         -> the MIME structure (package structure), parsed once at delivery
//	pickup/<account>/<seq u64> -> a message waiting for its drop-folder file: blob id,
//	                            internal date, size, SMTP envelope, mailbox and UID
//	clients/<account>\0<proto>\0<tls> -> first and last login (u64 unix), logins (u64):
//	                            how an account's clients log in (maildock status)
//	imports/<account>/<key 32 bytes> -> u64 unix time: a message `maildock import`
//	                            stored (ImportKey), so a rerun skips it
//
// pickup, clients and imports are made on first use; a store without them is
// still version 1.
//
// Message bodies ("blobs") are immutable and shared: an IMAP COPY adds a
// reference instead of a second copy. A blob is deleted when its last
// reference goes, or, if a BlobReader has it open then, when the last
// reader closes (until then it is kept with no references; Open deletes
// such blobs left by a crash; see pins.go). A queued drop-folder file holds
// a reference too. Keeping bodies in chunks under their own keys, instead of one
// large value beside the per-message record, means a flag change rewrites a
// few hundred bytes, not the message (docs/STORE.md has the measured write
// amplification).
//
// Mailbox names are stored as given, except that any case of "inbox" is INBOX
// (RFC 3501 section 5.1). UIDs are never reused: UIDNEXT only grows, and a
// mailbox deleted and made again gets a new, larger UIDVALIDITY.
//
// # Rules for code in this package
//
//   - Every write goes through Store.update, which group-commits: concurrent
//     writers share one bbolt transaction and one fsync. Write functions may be
//     run more than once (a batch that fails is retried member by member), so
//     they must have no effect outside the transaction and must record their
//     results only in the commitCtx they are given.
//   - A write returns to its caller only after the commit, and so the fsync, has
//     succeeded. That is what lets SMTP say 250.
//   - Read transactions are short and never span network I/O: bytes are copied
//     out before the transaction ends (bbolt's values are only valid inside it).
//     Message bodies are read chunk by chunk, each in its own transaction.
//   - Notifications go out after the commit, never before (see Subscribe).
//
// # Migrations
//
// The schema version is in meta/schema. Open runs every function in migrations
// whose version is above the stored one, in one transaction, and refuses a
// store written by a newer maildock.
package mailstore
