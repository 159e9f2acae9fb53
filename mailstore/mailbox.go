package mailstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Separator is the mailbox hierarchy separator.
const Separator = "/"

// MaxMailboxName bounds a mailbox name in bytes.
const MaxMailboxName = 512

// CanonicalMailbox validates a mailbox name and returns its stored form:
// "" and any case of "INBOX" are INBOX. Names may not have control
// characters, IMAP wildcards, empty, "." or ".." levels, or more than
// MaxMailboxName bytes.
func CanonicalMailbox(name string) (string, error) {
	if name == "" || strings.EqualFold(name, "INBOX") {
		return "INBOX", nil
	}
	if len(name) > MaxMailboxName || !utf8.ValidString(name) {
		return "", ErrInvalidName
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '*' || r == '%' {
			return "", ErrInvalidName
		}
	}
	for _, level := range strings.Split(name, Separator) {
		if level == "" || level == "." || level == ".." {
			return "", ErrInvalidName
		}
	}
	// INBOX/child keeps INBOX's spelling for its parent.
	if len(name) > 6 && strings.EqualFold(name[:6], "INBOX/") {
		name = "INBOX" + name[5:]
	}
	return name, nil
}

// openMailbox finds a mailbox's bucket in a write or read transaction. With
// create, a missing account or mailbox is made (only used for INBOX).
func openMailbox(tx *bolt.Tx, account, name string, create bool) (*bolt.Bucket, mailboxInfo, error) {
	var info mailboxInfo
	acct := tx.Bucket(bucketAccounts).Bucket([]byte(account))
	if acct == nil {
		if !create {
			return nil, info, ErrNotFound
		}
		var err error
		if acct, err = tx.Bucket(bucketAccounts).CreateBucket([]byte(account)); err != nil {
			return nil, info, err
		}
		if _, err = acct.CreateBucket(bucketMailboxes); err != nil {
			return nil, info, err
		}
	}
	mbs := acct.Bucket(bucketMailboxes)
	mb := mbs.Bucket([]byte(name))
	if mb == nil {
		if !create {
			return nil, info, ErrNotFound
		}
		return createMailbox(tx, mbs, name)
	}
	info, err := decodeMailboxInfo(mb.Get(keyInfo))
	if err != nil {
		return nil, info, fmt.Errorf("mailbox %q: %w", name, err)
	}
	return mb, info, nil
}

// createMailbox makes a mailbox. Only INBOX starts subscribed: IMAP
// servers do not subscribe what CREATE makes (clients that want it send
// SUBSCRIBE), and LSUB must show exactly the client's choices.
func createMailbox(tx *bolt.Tx, mbs *bolt.Bucket, name string) (*bolt.Bucket, mailboxInfo, error) {
	info := mailboxInfo{UIDValidity: newUIDValidity(tx), UIDNext: 1, Subscribed: name == "INBOX", Created: time.Now().UTC()}
	mb, err := mbs.CreateBucket([]byte(name))
	if err != nil {
		return nil, info, err
	}
	if _, err := mb.CreateBucket(bucketMsgs); err != nil {
		return nil, info, err
	}
	return mb, info, mb.Put(keyInfo, info.encode())
}

// newUIDValidity hands out strictly increasing UIDVALIDITY values, starting
// from the clock so that a store made anew does not repeat an old one.
func newUIDValidity(tx *bolt.Tx) uint32 {
	meta := tx.Bucket(bucketMeta)
	v := getU32(meta.Get(keyUIDValidity)) + 1
	if now := uint32(time.Now().Unix()); now > v {
		v = now
	}
	_ = meta.Put(keyUIDValidity, u32(v))
	return v
}

// MailboxInfo describes one mailbox of an account.
type MailboxInfo struct {
	Name        string
	UIDValidity uint32
	UIDNext     uint32
	Subscribed  bool
}

// Mailboxes lists an account's mailboxes, sorted by name. An account that
// never received mail has just an (empty, not yet stored) INBOX.
func (s *Store) Mailboxes(account string) ([]MailboxInfo, error) {
	var out []MailboxInfo
	err := s.view(func(tx *bolt.Tx) error {
		acct := tx.Bucket(bucketAccounts).Bucket([]byte(account))
		if acct == nil {
			return nil
		}
		return acct.Bucket(bucketMailboxes).ForEachBucket(func(k []byte) error {
			info, err := decodeMailboxInfo(acct.Bucket(bucketMailboxes).Bucket(k).Get(keyInfo))
			if err != nil {
				return fmt.Errorf("mailbox %q: %w", k, err)
			}
			out = append(out, MailboxInfo{Name: string(k), UIDValidity: info.UIDValidity, UIDNext: info.UIDNext, Subscribed: info.Subscribed})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("mailstore: mailboxes of %s: %w", account, err)
	}
	hasInbox := false
	for _, m := range out {
		hasInbox = hasInbox || m.Name == "INBOX"
	}
	if !hasInbox {
		out = append(out, MailboxInfo{Name: "INBOX", UIDNext: 1, Subscribed: true})
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	}
	return out, nil
}

// EnsureInbox makes the account's INBOX if it does not exist yet, so that it
// has a stable UIDVALIDITY before its first message (IMAP SELECT needs one).
func (s *Store) EnsureInbox(ctx context.Context, account string) (MailboxInfo, error) {
	res, err := s.update(ctx, 0, func(c *commitCtx) error {
		_, info, err := openMailbox(c.tx, account, "INBOX", true)
		c.result = MailboxInfo{Name: "INBOX", UIDValidity: info.UIDValidity, UIDNext: info.UIDNext, Subscribed: info.Subscribed}
		return err
	})
	if err != nil {
		return MailboxInfo{}, fmt.Errorf("mailstore: inbox of %s: %w", account, err)
	}
	return res.(MailboxInfo), nil
}

// CreateMailbox makes a mailbox. Its parents need not exist (IMAP clients
// see them as \Noselect-less plain names; RFC 3501 6.3.3 lets us skip them).
func (s *Store) CreateMailbox(ctx context.Context, account, name string) error {
	name, err := CanonicalMailbox(name)
	if err != nil {
		return fmt.Errorf("mailstore: create mailbox: %w", err)
	}
	_, err = s.update(ctx, 0, func(c *commitCtx) error {
		if _, _, err := openMailbox(c.tx, account, "INBOX", true); err != nil {
			return err
		}
		mbs := c.tx.Bucket(bucketAccounts).Bucket([]byte(account)).Bucket(bucketMailboxes)
		if mbs.Bucket([]byte(name)) != nil {
			return ErrMailboxExists
		}
		if _, _, err := createMailbox(c.tx, mbs, name); err != nil {
			return err
		}
		c.change(Change{Kind: MailboxCreated, Account: account, Mailbox: name})
		return nil
	})
	if err != nil {
		return fmt.Errorf("mailstore: create mailbox %q: %w", name, err)
	}
	return nil
}

// DeleteMailbox removes a mailbox and its messages. INBOX cannot be deleted.
func (s *Store) DeleteMailbox(ctx context.Context, account, name string) error {
	name, err := CanonicalMailbox(name)
	if err != nil {
		return fmt.Errorf("mailstore: delete mailbox: %w", err)
	}
	if name == "INBOX" {
		return fmt.Errorf("mailstore: delete mailbox: INBOX cannot be deleted: %w", ErrInvalidName)
	}
	_, err = s.update(ctx, 0, func(c *commitCtx) error {
		mb, _, err := openMailbox(c.tx, account, name, false)
		if err != nil {
			return err
		}
		var uids []uint32
		err = mb.Bucket(bucketMsgs).ForEach(func(k, v []byte) error {
			rec, err := decodeMsgRecord(v)
			if err != nil {
				return err
			}
			uids = append(uids, getU32(k))
			return unrefBlob(c, rec.Blob)
		})
		if err != nil {
			return err
		}
		if err := c.tx.Bucket(bucketAccounts).Bucket([]byte(account)).Bucket(bucketMailboxes).DeleteBucket([]byte(name)); err != nil {
			return err
		}
		if len(uids) > 0 {
			c.change(Change{Kind: MessagesExpunged, Account: account, Mailbox: name, UIDs: uids})
		}
		c.change(Change{Kind: MailboxDeleted, Account: account, Mailbox: name})
		return nil
	})
	if err != nil {
		return fmt.Errorf("mailstore: delete mailbox %q: %w", name, err)
	}
	return nil
}

// RenameMailbox renames a mailbox and every mailbox below it. Renaming INBOX
// moves its messages into a new mailbox and leaves INBOX empty (RFC 3501
// 6.3.5).
func (s *Store) RenameMailbox(ctx context.Context, account, oldName, newName string) error {
	oldName, err := CanonicalMailbox(oldName)
	if err != nil {
		return fmt.Errorf("mailstore: rename mailbox: %w", err)
	}
	newName, err = CanonicalMailbox(newName)
	if err != nil || newName == "INBOX" {
		return fmt.Errorf("mailstore: rename mailbox to %q: %w", newName, ErrInvalidName)
	}
	_, err = s.update(ctx, 0, func(c *commitCtx) error {
		if _, _, err := openMailbox(c.tx, account, oldName, oldName == "INBOX"); err != nil {
			return err
		}
		mbs := c.tx.Bucket(bucketAccounts).Bucket([]byte(account)).Bucket(bucketMailboxes)
		if mbs.Bucket([]byte(newName)) != nil {
			return ErrMailboxExists
		}
		if oldName == "INBOX" {
			return renameInbox(c, mbs, account, newName)
		}
		var names []string
		_ = mbs.ForEachBucket(func(k []byte) error {
			if n := string(k); n == oldName || strings.HasPrefix(n, oldName+Separator) {
				names = append(names, n)
			}
			return nil
		})
		for _, n := range names {
			to := newName + strings.TrimPrefix(n, oldName)
			if mbs.Bucket([]byte(to)) != nil {
				return fmt.Errorf("%q: %w", to, ErrMailboxExists)
			}
			// bbolt cannot rename a bucket: copy the (small) records;
			// the bodies stay where they are.
			if err := copyBucket(mbs, []byte(n), []byte(to)); err != nil {
				return err
			}
			// UIDVALIDITY must change: clients cache UIDs by name and validity.
			mb := mbs.Bucket([]byte(to))
			info, err := decodeMailboxInfo(mb.Get(keyInfo))
			if err != nil {
				return err
			}
			info.UIDValidity = newUIDValidity(c.tx)
			if err := mb.Put(keyInfo, info.encode()); err != nil {
				return err
			}
			c.change(Change{Kind: MailboxRenamed, Account: account, Mailbox: n, NewName: to})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mailstore: rename mailbox %q: %w", oldName, err)
	}
	return nil
}

// copyBucket copies mailbox bucket from into a new bucket to and deletes from.
func copyBucket(parent *bolt.Bucket, from, to []byte) error {
	src := parent.Bucket(from)
	dst, err := parent.CreateBucket(to)
	if err != nil {
		return err
	}
	if err := dst.Put(keyInfo, append([]byte(nil), src.Get(keyInfo)...)); err != nil {
		return err
	}
	dmsgs, err := dst.CreateBucket(bucketMsgs)
	if err != nil {
		return err
	}
	dmsgs.FillPercent = 1.0
	err = src.Bucket(bucketMsgs).ForEach(func(k, v []byte) error {
		return dmsgs.Put(append([]byte(nil), k...), append([]byte(nil), v...))
	})
	if err != nil {
		return err
	}
	return parent.DeleteBucket(from)
}

func renameInbox(c *commitCtx, mbs *bolt.Bucket, account, newName string) error {
	inbox := mbs.Bucket([]byte("INBOX"))
	dst, dinfo, err := createMailbox(c.tx, mbs, newName)
	if err != nil {
		return err
	}
	dmsgs := dst.Bucket(bucketMsgs)
	dmsgs.FillPercent = 1.0
	var moved []uint32
	err = inbox.Bucket(bucketMsgs).ForEach(func(k, v []byte) error {
		moved = append(moved, getU32(k))
		if err := dmsgs.Put(u32(dinfo.UIDNext), append([]byte(nil), v...)); err != nil {
			return err
		}
		dinfo.UIDNext++
		return nil
	})
	if err != nil {
		return err
	}
	if err := dst.Put(keyInfo, dinfo.encode()); err != nil {
		return err
	}
	if err := inbox.DeleteBucket(bucketMsgs); err != nil {
		return err
	}
	if _, err := inbox.CreateBucket(bucketMsgs); err != nil {
		return err
	}
	c.change(Change{Kind: MailboxCreated, Account: account, Mailbox: newName})
	if len(moved) > 0 {
		c.change(Change{Kind: MessagesExpunged, Account: account, Mailbox: "INBOX", UIDs: moved})
	}
	return nil
}

// SetSubscribed records an IMAP SUBSCRIBE or UNSUBSCRIBE.
func (s *Store) SetSubscribed(ctx context.Context, account, name string, on bool) error {
	name, err := CanonicalMailbox(name)
	if err != nil {
		return fmt.Errorf("mailstore: subscribe: %w", err)
	}
	_, err = s.update(ctx, 0, func(c *commitCtx) error {
		mb, info, err := openMailbox(c.tx, account, name, name == "INBOX")
		if err != nil {
			return err
		}
		info.Subscribed = on
		return mb.Put(keyInfo, info.encode())
	})
	if err != nil {
		return fmt.Errorf("mailstore: subscribe %q: %w", name, err)
	}
	return nil
}
