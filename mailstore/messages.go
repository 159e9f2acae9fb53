package mailstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// System flags, spelt as IMAP spells them.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

// MessageInfo is one message of a mailbox, without its body.
type MessageInfo struct {
	UID          uint32
	Blob         uint64
	InternalDate time.Time
	Size         int64
	CRLFSize     int64
	ModSeq       uint64
	Flags        []string // sorted, system flags first
}

// HasFlag reports whether the message has flag f (case-insensitively).
func (m *MessageInfo) HasFlag(f string) bool {
	for _, g := range m.Flags {
		if strings.EqualFold(f, g) {
			return true
		}
	}
	return false
}

func infoFromRecord(uid uint32, r msgRecord) MessageInfo {
	return MessageInfo{UID: uid, Blob: r.Blob, InternalDate: r.Date, Size: r.Size, CRLFSize: r.CRLFSize, ModSeq: r.ModSeq, Flags: r.Flags}
}

// Snapshot is a mailbox's state at one moment.
type Snapshot struct {
	UIDValidity uint32
	UIDNext     uint32
	Messages    []MessageInfo // in UID order
}

// Messages returns a mailbox's messages. A missing INBOX is reported as
// empty (it is made on first delivery); other missing mailboxes are
// ErrNotFound.
func (s *Store) Messages(account, mailbox string) (*Snapshot, error) {
	mailbox, err := CanonicalMailbox(mailbox)
	if err != nil {
		return nil, fmt.Errorf("mailstore: messages: %w", err)
	}
	snap := &Snapshot{}
	err = s.view(func(tx *bolt.Tx) error {
		mb, info, err := openMailbox(tx, account, mailbox, false)
		if err != nil {
			return err
		}
		snap.UIDValidity, snap.UIDNext = info.UIDValidity, info.UIDNext
		msgs := mb.Bucket(bucketMsgs)
		snap.Messages = make([]MessageInfo, 0, msgs.Stats().KeyN)
		return msgs.ForEach(func(k, v []byte) error {
			rec, err := decodeMsgRecord(v)
			if err != nil {
				return fmt.Errorf("uid %d: %w", getU32(k), err)
			}
			snap.Messages = append(snap.Messages, infoFromRecord(getU32(k), rec))
			return nil
		})
	})
	if err == ErrNotFound && mailbox == "INBOX" {
		return &Snapshot{UIDNext: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mailstore: messages of %s/%s: %w", account, mailbox, err)
	}
	return snap, nil
}

// Message returns one message's info.
func (s *Store) Message(account, mailbox string, uid uint32) (MessageInfo, error) {
	mailbox, err := CanonicalMailbox(mailbox)
	if err != nil {
		return MessageInfo{}, fmt.Errorf("mailstore: message: %w", err)
	}
	var out MessageInfo
	err = s.view(func(tx *bolt.Tx) error {
		mb, _, err := openMailbox(tx, account, mailbox, false)
		if err != nil {
			return err
		}
		v := mb.Bucket(bucketMsgs).Get(u32(uid))
		if v == nil {
			return ErrNotFound
		}
		rec, err := decodeMsgRecord(v)
		out = infoFromRecord(uid, rec)
		return err
	})
	if err != nil {
		return MessageInfo{}, fmt.Errorf("mailstore: message %s/%s/%d: %w", account, mailbox, uid, err)
	}
	return out, nil
}

// Status sums up a mailbox.
type Status struct {
	UIDValidity uint32
	UIDNext     uint32
	Messages    uint32
	Unseen      uint32
	Deleted     uint32
	Size        int64
}

// Status returns a mailbox's counters.
func (s *Store) Status(account, mailbox string) (Status, error) {
	snap, err := s.Messages(account, mailbox)
	if err != nil {
		return Status{}, err
	}
	st := Status{UIDValidity: snap.UIDValidity, UIDNext: snap.UIDNext, Messages: uint32(len(snap.Messages))}
	for i := range snap.Messages {
		m := &snap.Messages[i]
		st.Size += m.Size
		if !m.HasFlag(FlagSeen) {
			st.Unseen++
		}
		if m.HasFlag(FlagDeleted) {
			st.Deleted++
		}
	}
	return st, nil
}

// FlagOp says how SetFlags combines flags.
type FlagOp int

const (
	FlagsAdd FlagOp = iota
	FlagsRemove
	FlagsReplace
)

// SetFlags changes the flags of the given UIDs (missing ones are skipped)
// and returns the messages as they are after the change.
func (s *Store) SetFlags(ctx context.Context, account, mailbox string, uids []uint32, op FlagOp, flags []string) ([]MessageInfo, error) {
	mailbox, err := CanonicalMailbox(mailbox)
	if err != nil {
		return nil, fmt.Errorf("mailstore: set flags: %w", err)
	}
	flags = normalizeFlags(flags)
	res, err := s.update(ctx, 0, func(c *commitCtx) error {
		mb, _, err := openMailbox(c.tx, account, mailbox, false)
		if err != nil {
			return err
		}
		msgs := mb.Bucket(bucketMsgs)
		var out []MessageInfo
		var changed []uint32
		for _, uid := range sortedUIDs(uids) {
			v := msgs.Get(u32(uid))
			if v == nil {
				continue
			}
			rec, err := decodeMsgRecord(v)
			if err != nil {
				return fmt.Errorf("uid %d: %w", uid, err)
			}
			next := applyFlags(rec.Flags, op, flags)
			if !slices.Equal(next, rec.Flags) {
				rec.Flags = next
				rec.ModSeq = c.nextModSeq()
				if err := msgs.Put(u32(uid), rec.encode()); err != nil {
					return err
				}
				changed = append(changed, uid)
			}
			out = append(out, infoFromRecord(uid, rec))
		}
		if len(changed) > 0 {
			c.change(Change{Kind: FlagsChanged, Account: account, Mailbox: mailbox, UIDs: changed})
		}
		c.result = out
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mailstore: set flags in %s/%s: %w", account, mailbox, err)
	}
	return res.([]MessageInfo), nil
}

// Expunge removes the given UIDs from a mailbox and returns those that were
// there. Bodies no other mailbox refers to are deleted in the same
// transaction.
func (s *Store) Expunge(ctx context.Context, account, mailbox string, uids []uint32) ([]uint32, error) {
	mailbox, err := CanonicalMailbox(mailbox)
	if err != nil {
		return nil, fmt.Errorf("mailstore: expunge: %w", err)
	}
	res, err := s.update(ctx, 0, func(c *commitCtx) error {
		gone, err := expungeTx(c, account, mailbox, uids)
		c.result = gone
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mailstore: expunge in %s/%s: %w", account, mailbox, err)
	}
	return res.([]uint32), nil
}

func expungeTx(c *commitCtx, account, mailbox string, uids []uint32) ([]uint32, error) {
	mb, _, err := openMailbox(c.tx, account, mailbox, false)
	if err == ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	msgs := mb.Bucket(bucketMsgs)
	var gone []uint32
	for _, uid := range sortedUIDs(uids) {
		v := msgs.Get(u32(uid))
		if v == nil {
			continue
		}
		rec, err := decodeMsgRecord(v)
		if err != nil {
			return nil, fmt.Errorf("uid %d: %w", uid, err)
		}
		if err := msgs.Delete(u32(uid)); err != nil {
			return nil, err
		}
		if err := unrefBlob(c, rec.Blob); err != nil {
			return nil, err
		}
		gone = append(gone, uid)
	}
	if len(gone) > 0 {
		c.nextModSeq()
		c.change(Change{Kind: MessagesExpunged, Account: account, Mailbox: mailbox, UIDs: gone})
	}
	return gone, nil
}

// unrefBlob drops one reference to a blob and deletes it with the last,
// unless a reader has it open (see pins).
func unrefBlob(c *commitCtx, id uint64) error {
	blobs := c.tx.Bucket(bucketBlobs)
	rec, err := decodeBlobRecord(blobs.Get(u64(id)))
	if err != nil {
		return fmt.Errorf("blob %d: %w", id, err)
	}
	if rec.Refs > 1 || !c.pins.release(id) {
		rec.Refs--
		return blobs.Put(u64(id), rec.encode())
	}
	c.reaped = append(c.reaped, id)
	return deleteBlob(c.tx, id, rec)
}

// deleteBlob deletes a body, its chunks and its structure.
func deleteBlob(tx *bolt.Tx, id uint64, rec blobRecord) error {
	blobs := tx.Bucket(bucketBlobs)
	chunks := tx.Bucket(bucketChunks)
	for i := uint32(0); i < rec.Chunks; i++ {
		if err := chunks.Delete(chunkKey(id, i)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketStructs).Delete(u64(id)); err != nil {
		return err
	}
	return blobs.Delete(u64(id))
}

// CopyResult maps copied UIDs to their new ones (IMAP UIDPLUS COPYUID).
type CopyResult struct {
	UIDValidity uint32   // of the destination
	SrcUIDs     []uint32 // in increasing order
	DstUIDs     []uint32 // DstUIDs[i] is the copy of SrcUIDs[i]
}

// Copy files the given messages into another mailbox of the same account,
// sharing their bodies. With move, they leave the source in the same
// transaction (IMAP MOVE). Missing UIDs are skipped.
func (s *Store) Copy(ctx context.Context, account, src string, uids []uint32, dst string, move bool) (CopyResult, error) {
	src, err := CanonicalMailbox(src)
	if err != nil {
		return CopyResult{}, fmt.Errorf("mailstore: copy: %w", err)
	}
	dst, err = CanonicalMailbox(dst)
	if err != nil {
		return CopyResult{}, fmt.Errorf("mailstore: copy: %w", err)
	}
	res, err := s.update(ctx, 0, func(c *commitCtx) error {
		smb, _, err := openMailbox(c.tx, account, src, false)
		if err != nil {
			return err
		}
		dmb, dinfo, err := openMailbox(c.tx, account, dst, dst == "INBOX")
		if err != nil {
			return err
		}
		smsgs, dmsgs := smb.Bucket(bucketMsgs), dmb.Bucket(bucketMsgs)
		dmsgs.FillPercent = 1.0
		blobs := c.tx.Bucket(bucketBlobs)
		out := CopyResult{UIDValidity: dinfo.UIDValidity}
		for _, uid := range sortedUIDs(uids) {
			v := smsgs.Get(u32(uid))
			if v == nil {
				continue
			}
			rec, err := decodeMsgRecord(v)
			if err != nil {
				return fmt.Errorf("uid %d: %w", uid, err)
			}
			if !move || src == dst {
				brec, err := decodeBlobRecord(blobs.Get(u64(rec.Blob)))
				if err != nil {
					return fmt.Errorf("blob %d: %w", rec.Blob, err)
				}
				brec.Refs++
				if err := blobs.Put(u64(rec.Blob), brec.encode()); err != nil {
					return err
				}
			}
			rec.ModSeq = c.nextModSeq()
			nuid := dinfo.UIDNext
			dinfo.UIDNext++
			if err := dmsgs.Put(u32(nuid), rec.encode()); err != nil {
				return err
			}
			out.SrcUIDs = append(out.SrcUIDs, uid)
			out.DstUIDs = append(out.DstUIDs, nuid)
		}
		if err := dmb.Put(keyInfo, dinfo.encode()); err != nil {
			return err
		}
		if len(out.DstUIDs) > 0 {
			c.change(Change{Kind: MessagesAdded, Account: account, Mailbox: dst, UIDs: out.DstUIDs})
		}
		if move && src != dst {
			for _, uid := range out.SrcUIDs {
				if err := smsgs.Delete(u32(uid)); err != nil {
					return err
				}
			}
			if len(out.SrcUIDs) > 0 {
				c.change(Change{Kind: MessagesExpunged, Account: account, Mailbox: src, UIDs: out.SrcUIDs})
			}
		} else if move {
			// MOVE into the same mailbox: the copies stay, the originals go.
			if _, err := expungeTx(c, account, src, out.SrcUIDs); err != nil {
				return err
			}
		}
		c.result = out
		return nil
	})
	if err != nil {
		return CopyResult{}, fmt.Errorf("mailstore: copy %s/%s to %s: %w", account, src, dst, err)
	}
	return res.(CopyResult), nil
}

func sortedUIDs(uids []uint32) []uint32 {
	out := slices.Clone(uids)
	slices.Sort(out)
	return slices.Compact(out)
}

var systemFlags = map[string]string{
	`\seen`: FlagSeen, `\answered`: FlagAnswered, `\flagged`: FlagFlagged,
	`\deleted`: FlagDeleted, `\draft`: FlagDraft,
}

// normalizeFlags spells system flags canonically, drops duplicates (flags
// compare case-insensitively) and empty names, and sorts: system flags
// first.
func normalizeFlags(flags []string) []string {
	if len(flags) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(flags))
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if f == "" {
			continue
		}
		low := strings.ToLower(f)
		if canon, ok := systemFlags[low]; ok {
			f = canon
		}
		if !seen[low] {
			seen[low] = true
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		si, sj := strings.HasPrefix(out[i], `\`), strings.HasPrefix(out[j], `\`)
		if si != sj {
			return si
		}
		return strings.ToLower(out[i]) < strings.ToLower(out[j])
	})
	return out
}

func applyFlags(cur []string, op FlagOp, flags []string) []string {
	switch op {
	case FlagsReplace:
		return flags
	case FlagsAdd:
		return normalizeFlags(append(slices.Clone(cur), flags...))
	default:
		out := make([]string, 0, len(cur))
		for _, f := range cur {
			if !slices.ContainsFunc(flags, func(g string) bool { return strings.EqualFold(f, g) }) {
				out = append(out, f)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
}
