// Package pickup writes every message queued for an account's drop folder
// ([account.pickup] in the config) as a file, for legacy apps that never
// speak a mail protocol and read a directory instead, as they once read the
// Drop directory of the Windows SMTP service.
//
// The queue lives in the store (mailstore.Target.Pickup): a delivery and its
// queue record are one transaction, so a 250 means the file will exist. The
// Writer empties the queue into the folders: exactly one complete file per
// message, whatever crashes, full disks or broken folders happen on the way.
//
// # Formats and names
//
// Every name is made by this package from the queue record alone (the
// internal date and the account's queue sequence number, which the store
// never reuses), so it is unique, and the same for a given item on every
// attempt: a retry after a crash aims at the same name. Nothing a sender
// controls ever becomes part of a path.
//
//   - eml: the message as stored (after line-ending conversion, below), in
//     DIR/20261123T224803Z-000000000042.eml: the internal date in UTC, then
//     the sequence number zero-padded to 12 digits, so that name order is
//     arrival order (unless the system clock steps back).
//   - iis: the Drop-file layout of the Windows SMTP service (IIS SMTP,
//     SMTPSVC): the SMTP envelope as an "x-sender: <reverse-path>" line and
//     one "x-receiver: <recipient>" line per recipient, lower-case names,
//     bare addresses without angle brackets, then the message itself, whose
//     first line is the Received: field maildock prepended (the service put
//     its own "Received: ... with Microsoft SMTPSVC(...)" there). Line ends
//     CRLF, as the service wrote them (LF if line_endings = "lf"); names as
//     for eml. A bounce's empty reverse path gives
//     "x-sender: " with nothing after it. Microsoft never published this
//     as a format of its own; the sources are its CDO documentation
//     (IDropDirectory: "incoming mail messages are delivered to a physical
//     disk directory called a drop directory and placed in files with the
//     .eml extension",
//     https://learn.microsoft.com/en-us/previous-versions/office/developer/exchange-server-2007/aa564199(v=exchg.80)),
//     the Exchange 2000 administration guide on the same envelope lines in
//     Pickup files ("The x-sender header identifies the sender. The
//     x-receiver header identifies a single recipient ... add an x-receiver
//     header for each recipient. The headers must appear first ..., with the
//     x-sender header listed first"), Microsoft KB Q201314 ("the X-Sender
//     and X-Receiver headers ... before the RFC-822 header information",
//     https://jeffpar.github.io/kbarchive/kb/201/Q201314/), and code that
//     interoperated with the service, e.g. Manuel Lemos' pickup_message
//     class for IIS and Exchange, which writes "x-sender: " and one
//     "x-receiver: " line per recipient before the header, CRLF.
//   - maildir: a Maildir (https://cr.yp.to/proto/maildir.html): DIR/tmp,
//     DIR/new and DIR/cur are made if missing; each message is written in
//     tmp/ and moved into new/ as 1795474083.M0Q42.host,S=1234, the spec's
//     time.M<usec>Q<delivery>.host unique name followed by the size
//     extension of Courier and Dovecot (",S=" and the file's size in
//     bytes). There is no P<pid> part: the name must not depend on which
//     process writes it, and the queue number already makes it unique.
//     Readers move files on into cur/ as they please.
//
// # Line endings
//
// line_endings = "crlf" turns every bare LF into CRLF; "lf" turns every CRLF
// into LF. A lone CR is data and stays; a CRLF cut in two by the 64 KiB
// pieces the message is streamed in is still recognised as one. The iis
// envelope lines end the same way as the rest of the file.
//
// The conversion is done on the whole message, so with "lf" it also
// changes the CRLFs inside parts with Content-Transfer-Encoding binary or
// 8bit (and "crlf" the bare LFs in them): the bytes of such parts are no
// longer what was sent. This is inherent to converting line endings; apps
// that need binary parts byte for byte want "crlf" with senders that send
// CRLF, which is what SMTP carries. Base64 and quoted-printable parts keep
// their meaning: their line breaks are encoding, not data.
//
// # Durability: one batch, step by step
//
// The writer takes up to 256 queued items at a time, oldest first:
//
//  1. Each item is written into a temporary file in the same filesystem as
//     its final place (rename is only atomic within one): DIR/.maildock/ for
//     eml and iis, a hidden directory that apps reading *.eml never look
//     into, and DIR/tmp/ for maildir. Temporary names end in
//     ".maildock.tmp", never ".eml". Four are written at once (concurrent
//     fsyncs share the filesystem's journal commits); the file mode is set
//     with chmod, so the umask cannot narrow it. Each file is fsynced: its
//     bytes must be on disk before a name the app reads can point to them,
//     or a crash could leave a visible empty or partial file.
//  2. The temporary directory is fsynced, so the temporary names are
//     durable: recovery (below) reads a missing temporary file as "already
//     renamed".
//  3. The journal, DIR/.maildock/.maildock-journal (DIR/tmp/ for maildir),
//     is written and fsynced: one line per rename to come, temporary name to
//     final name, with the item's sequence number and date, and a CRC of
//     the whole so that a torn write is recognised.
//  4. The files are renamed into place, in arrival order.
//  5. The final directory is fsynced, once for the batch: the renames are
//     durable.
//  6. One DonePickups marks the whole batch done in one store commit, which
//     releases the bodies (with keep = false the message is now nowhere but
//     in its file). Only now may the store forget the items: everything
//     they promised is on disk.
//  7. The journal is emptied (no fsync: a stale journal names items that
//     are no longer queued, and recovery skips those).
//
// So a batch costs one fsync per file plus four (temporary directory,
// journal, final directory, store commit), and a backlog of 10,000 drains
// at about the speed the disk creates and syncs small files. Under normal
// load a batch is one message, written within milliseconds of the store's
// notification.
//
// # After a crash
//
// At start, and after a failure among a batch's renames, each folder
// recovers before it writes: for every journal entry whose item is still
// queued (same sequence number and date: a journal left from an older store
// is ignored), a temporary file that is still there is renamed into place
// (it is complete: it was synced before the journal), and a temporary file
// that is gone means the rename happened. Both kinds are marked done, the
// journal is emptied, and all other temporary files are removed. So a crash
// at any point leaves exactly one complete file under its stable name:
//
//   - before step 3: no visible file; the temporary files are swept and the
//     items written again;
//   - between 3 and 6: the journal finishes the renames, or knows they
//     happened;
//   - after 6: nothing left to do.
//
// Why the journal: without it, a file renamed into place whose DonePickups
// never happened is found again by its stable name, unless the app has
// consumed (deleted or moved) it in between, which apps watching a folder
// do within milliseconds. Then "never written" and "written and taken" look
// the same, and the message would be delivered to the app twice. The
// journal closes that window for one small write and two fsyncs per batch,
// not per file; exactly once is what the folder promises apps, so it is
// worth it. Besides, before writing an item the writer still looks for a
// file under its final name (eml and iis before writing; maildir in new/
// once the size is known) and counts one found as written; that covers
// files renamed by anything that kept no journal. It relies, as Maildir
// does, on rename being atomic across a crash.
//
// # Trouble
//
// A missing folder is made (0750). A folder that cannot be written (its path
// taken by a file, no permission, disk full) never holds up delivery: the
// queue is in the store. The writer logs the first failure as an error with
// its reason, retries with exponential backoff (Options.RetryMin up to
// RetryMax; new mail does not cut the wait short), logs "drop folder
// writable again, draining N" once it works again, and Backlog shows what
// waits. A batch stops at the first item that fails, so files keep
// appearing in arrival order. Each folder has its own goroutine: one
// broken folder does not stall the others.
//
// Items of an account without a folder (after a config change) stay queued;
// the writer warns once per account when it sees new ones, and writes them
// when SetFolders gives the account a folder.
package pickup
