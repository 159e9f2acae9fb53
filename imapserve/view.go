package imapserve

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/maildock/maildock/mailstore"
)

// view is a session's selected mailbox as its client knows it: the UIDs in
// sequence-number order (message n is uids[n-1]; UIDs only grow, so the
// slice is sorted), and the changes made by others that the client has not
// been told yet. The store is the truth; the view only decides which
// sequence numbers the client is using. Changes are applied at the points
// IMAP allows: after a command (EXPUNGE not after FETCH, STORE and SEARCH,
// RFC 3501 section 7.4.1), and at once in IDLE.
type view struct {
	s           *session
	account     string
	name        string
	readOnly    bool
	uidValidity uint32

	// Owned by the session's goroutine.
	uids       []uint32
	recent     map[uint32]struct{} // \Recent in this session
	keywords   map[string]string   // keywords announced in FLAGS, by lower case
	told       map[uint32]uint64   // UID -> MODSEQ of the flags the client was last told
	searchRes  []uint32            // SEARCH RETURN (SAVE), for "$"
	goneAfter  int                 // 1: this session deleted or renamed the mailbox; 2: say BYE
	flagsNew   bool                // a keyword was added: send FLAGS
	recentSent int                 // the RECENT count the client was last told

	// Filled by the hub (and by the session for its own APPEND and COPY),
	// taken by sync.
	mu        sync.Mutex
	pAdded    []uint32
	pExpunged map[uint32]struct{}
	pFlags    map[uint32]struct{}
	pResync   bool
	pGone     bool
	poke      chan struct{} // wakes IDLE
}

func newView(s *session, name string, readOnly bool) *view {
	return &view{
		s:         s,
		account:   s.account,
		name:      name,
		readOnly:  readOnly,
		recent:    map[uint32]struct{}{},
		keywords:  map[string]string{},
		told:      map[uint32]uint64{},
		pExpunged: map[uint32]struct{}{},
		pFlags:    map[uint32]struct{}{},
		poke:      make(chan struct{}, 1),
	}
}

func (v *view) close() { v.s.srv.hub.unregister(v) }

func (v *view) wake() {
	select {
	case v.poke <- struct{}{}:
	default:
	}
}

// note queues a committed change of the mailbox (called by the hub).
func (v *view) note(ch *mailstore.Change) {
	v.mu.Lock()
	switch ch.Kind {
	case mailstore.MessagesAdded:
		v.pAdded = append(v.pAdded, ch.UIDs...)
	case mailstore.MessagesExpunged:
		for _, uid := range ch.UIDs {
			v.pExpunged[uid] = struct{}{}
		}
	case mailstore.FlagsChanged:
		for _, uid := range ch.UIDs {
			v.pFlags[uid] = struct{}{}
		}
	}
	v.mu.Unlock()
	v.wake()
}

// noteAdded queues a message the session itself added (APPEND, COPY), so
// its EXISTS comes with the command instead of after the hub's turn.
func (v *view) noteAdded(uids ...uint32) {
	v.mu.Lock()
	v.pAdded = append(v.pAdded, uids...)
	v.mu.Unlock()
}

func (v *view) noteResync() {
	v.mu.Lock()
	v.pResync = true
	v.mu.Unlock()
	v.wake()
}

func (v *view) noteGone() {
	v.mu.Lock()
	v.pGone = true
	v.mu.Unlock()
	v.wake()
}

// noteGoneAfterThisCommand: the session itself deleted or renamed its
// selected mailbox; the command completes, the next update is BYE.
func (v *view) noteGoneAfterThisCommand() { v.goneAfter = 1 }

// init fills the view from the snapshot SELECT read.
func (v *view) init(snap *mailstore.Snapshot) {
	v.uidValidity = snap.UIDValidity
	v.uids = make([]uint32, len(snap.Messages))
	for i := range snap.Messages {
		m := &snap.Messages[i]
		v.uids[i] = m.UID
		v.learnKeywords(m.Flags)
	}
	v.flagsNew = false
	v.s.srv.hub.catchUp() // the hub must know of every message in snap
	first := v.claimRecent(snap.UIDNext)
	for _, uid := range v.uids {
		if uid >= first {
			v.recent[uid] = struct{}{}
		}
	}
	v.recentSent = len(v.recent)
}

// claimRecent returns the first UID below uidNext that is \Recent in this
// session. EXAMINE sees \Recent but claims nothing (RFC 3501 section
// 6.3.2 "permanent state ... is not changed"), so a later SELECT still
// gets the messages as \Recent.
func (v *view) claimRecent(uidNext uint32) uint32 {
	k := mbKey{v.account, v.name}
	if !v.readOnly {
		return v.s.srv.hub.claimRecent(k, uidNext)
	}
	if first := v.s.srv.hub.unclaimedFrom(k); first != 0 && first < uidNext {
		return first
	}
	return uidNext
}

func (v *view) learnKeywords(flags []string) {
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) || !validFlag(f) {
			continue
		}
		low := strings.ToLower(f)
		if _, ok := v.keywords[low]; !ok {
			v.keywords[low] = f
			v.flagsNew = true
		}
	}
}

// announceKeywords learns the keywords of infos and, if one is new to the
// client, sends FLAGS with write at once: a FETCH response must not carry
// a keyword the client was not told of (RFC 3501 section 7.2.6). Updates
// write with their UpdateWriter; STORE and FETCH, whose FETCH responses
// come before the command's Poll, with session.writeMailboxFlags.
func (v *view) announceKeywords(infos []mailstore.MessageInfo, write func([]imap.Flag) error) error {
	for i := range infos {
		v.learnKeywords(infos[i].Flags)
	}
	if !v.flagsNew {
		return nil
	}
	v.flagsNew = false
	return write(v.mailboxFlags())
}

var systemFlags = []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}

// mailboxFlags is the FLAGS list: the system flags and the keywords in use.
func (v *view) mailboxFlags() []imap.Flag {
	out := slices.Clone(systemFlags)
	kws := make([]string, 0, len(v.keywords))
	for _, k := range v.keywords {
		kws = append(kws, k)
	}
	sort.Strings(kws)
	for _, k := range kws {
		out = append(out, imap.Flag(k))
	}
	return out
}

// msgFlags is a message's FLAGS as this session reports them.
func (v *view) msgFlags(m *mailstore.MessageInfo) []imap.Flag {
	out := make([]imap.Flag, 0, len(m.Flags)+1)
	for _, f := range m.Flags {
		if validFlag(f) {
			out = append(out, imap.Flag(f))
		}
	}
	if _, ok := v.recent[m.UID]; ok {
		out = append(out, `\Recent`)
	}
	return out
}

// validFlag reports whether f can be sent as a flag (an atom, or \ and an
// atom).
func validFlag(f string) bool {
	f = strings.TrimPrefix(f, `\`)
	if f == "" {
		return false
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// seqOf returns the sequence number of uid in the view, or 0.
func (v *view) seqOf(uid uint32) uint32 {
	i, ok := slices.BinarySearch(v.uids, uid)
	if !ok {
		return 0
	}
	return uint32(i + 1)
}

func (v *view) lastUID() uint32 {
	if len(v.uids) == 0 {
		return 0
	}
	return v.uids[len(v.uids)-1]
}

var errBadSeqSet = &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "Invalid messageset"}

// resolve turns a sequence or UID set into indexes into uids, sorted and
// without duplicates. As Dovecot does, a sequence set naming a message
// beyond the last (or any, in an empty mailbox) is BAD; UIDs that are not
// there are left out.
func (v *view) resolve(numSet imap.NumSet) ([]int, error) {
	var idx []int
	switch set := numSet.(type) {
	case imap.SeqSet:
		n := uint32(len(v.uids))
		if n == 0 || len(set) == 0 {
			return nil, errBadSeqSet
		}
		for _, r := range set {
			start, stop := r.Start, r.Stop
			if start == 0 {
				start = n
			}
			if stop == 0 {
				stop = n
			}
			if start > stop {
				start, stop = stop, start
			}
			if stop > n {
				return nil, errBadSeqSet
			}
			for i := start; i <= stop; i++ {
				idx = append(idx, int(i-1))
			}
		}
	case imap.UIDSet:
		if imap.IsSearchRes(set) {
			for _, uid := range v.searchRes {
				if i, ok := slices.BinarySearch(v.uids, uid); ok {
					idx = append(idx, i)
				}
			}
			return idx, nil
		}
		last := v.lastUID()
		if last == 0 {
			return nil, nil
		}
		for _, r := range set {
			start, stop := uint32(r.Start), uint32(r.Stop)
			if start == 0 {
				start = last
			}
			if stop == 0 {
				stop = last
			}
			if start > stop {
				start, stop = stop, start
			}
			i, _ := slices.BinarySearch(v.uids, start)
			for ; i < len(v.uids) && v.uids[i] <= stop; i++ {
				idx = append(idx, i)
			}
		}
	}
	slices.Sort(idx)
	return slices.Compact(idx), nil
}

// sync tells the client what changed: EXPUNGEs (if allowed), EXISTS and
// RECENT for new messages, FLAGS for new keywords, and FETCH FLAGS for
// messages others changed.
func (v *view) sync(w *imapserver.UpdateWriter, allowExpunge bool) error {
	switch v.goneAfter {
	case 1:
		v.goneAfter = 2
		return nil
	case 2:
		v.s.bye("Selected mailbox was deleted, have to disconnect.")
		return errSelectedGone
	}
	v.mu.Lock()
	gone, resync := v.pGone, v.pResync
	added, expunged, flagged := v.pAdded, v.pExpunged, v.pFlags
	v.pAdded, v.pResync = nil, false
	v.pExpunged, v.pFlags = map[uint32]struct{}{}, map[uint32]struct{}{}
	v.mu.Unlock()
	if gone {
		v.s.bye("Selected mailbox was deleted, have to disconnect.")
		return errSelectedGone
	}
	if !resync && len(added) == 0 && len(expunged) == 0 && len(flagged) == 0 && !v.flagsNew && v.recentSent == len(v.recent) {
		return nil
	}
	if resync {
		snap, err := v.s.srv.store.Messages(v.account, v.name)
		if errors.Is(err, mailstore.ErrNotFound) {
			v.s.bye("Selected mailbox was deleted, have to disconnect.")
			return errSelectedGone
		}
		if err != nil {
			return v.s.storeErr("resync", err)
		}
		there := make(map[uint32]struct{}, len(snap.Messages))
		last := v.lastUID()
		for _, m := range snap.Messages {
			there[m.UID] = struct{}{}
			if m.UID > last {
				added = append(added, m.UID)
			}
		}
		for _, uid := range v.uids {
			if _, ok := there[uid]; ok {
				flagged[uid] = struct{}{}
			} else {
				expunged[uid] = struct{}{}
			}
		}
	}

	// EXPUNGE, highest first, so that each number is still right when
	// sent.
	if allowExpunge && len(expunged) > 0 {
		if err := v.expunge(expunged, w.WriteExpunge); err != nil {
			return err
		}
	}

	// EXISTS and RECENT. A message added and expunged again before the
	// client heard of it is never mentioned.
	last := v.lastUID()
	var fresh []uint32
	for _, uid := range added {
		if _, ok := expunged[uid]; ok {
			delete(expunged, uid)
			continue
		}
		if uid > last {
			fresh = append(fresh, uid)
		}
	}
	if !allowExpunge {
		// Keep the expunges for a point where they may be sent.
		keep := map[uint32]struct{}{}
		for uid := range expunged {
			if v.seqOf(uid) != 0 {
				keep[uid] = struct{}{}
			}
		}
		if len(keep) > 0 {
			v.mu.Lock()
			for uid := range keep {
				v.pExpunged[uid] = struct{}{}
			}
			v.mu.Unlock()
		}
	}
	if len(fresh) > 0 {
		slices.Sort(fresh)
		fresh = slices.Compact(fresh)
		v.uids = append(v.uids, fresh...)
		first := v.claimRecent(fresh[len(fresh)-1] + 1)
		for _, uid := range fresh {
			if uid >= first {
				v.recent[uid] = struct{}{}
			}
		}
		if err := w.WriteNumMessages(uint32(len(v.uids))); err != nil {
			return err
		}
		v.recentSent = -1 // RECENT goes with EXISTS
		// Flags of new messages: keywords the client must learn.
		for _, uid := range fresh {
			flagged[uid] = struct{}{}
		}
	}

	// RECENT when its count changed (new messages, or recent ones
	// expunged), as Dovecot does.
	if v.recentSent != len(v.recent) {
		v.recentSent = len(v.recent)
		if err := w.WriteNumRecent(uint32(v.recentSent)); err != nil {
			return err
		}
	}

	// FETCH FLAGS for changes others made (new messages only teach
	// keywords: their flags come with the client's FETCH).
	var ask []uint32
	for uid := range flagged {
		if v.seqOf(uid) != 0 {
			ask = append(ask, uid)
		}
	}
	var infos []mailstore.MessageInfo
	if len(ask) > 0 {
		var err error
		infos, err = v.s.srv.store.MessagesByUID(v.account, v.name, ask)
		if err != nil && !errors.Is(err, mailstore.ErrNotFound) {
			return v.s.storeErr("sync flags", err)
		}
	}
	if err := v.announceKeywords(infos, w.WriteMailboxFlags); err != nil {
		return err
	}
	freshSet := map[uint32]bool{}
	for _, uid := range fresh {
		freshSet[uid] = true
	}
	for i := range infos {
		m := &infos[i]
		if freshSet[m.UID] {
			continue
		}
		// A change the client already knows of (its own STORE, a FETCH
		// of the flags, an earlier update) is not sent again.
		if m.ModSeq <= v.told[m.UID] {
			continue
		}
		v.noteTold(m)
		if err := w.WriteMessageFlags(v.seqOf(m.UID), imap.UID(m.UID), v.msgFlags(m)); err != nil {
			return err
		}
	}
	return nil
}

// expunge removes the given UIDs from the view, telling the client with
// write (EXPUNGE), highest sequence number first. UIDs not in the view are
// ignored; the ones handled are removed from the set.
func (v *view) expunge(uids map[uint32]struct{}, write func(seq uint32) error) error {
	keep := v.uids[:0:0]
	removed := false
	var err error
	for i := len(v.uids) - 1; i >= 0; i-- {
		uid := v.uids[i]
		if _, ok := uids[uid]; !ok {
			continue
		}
		delete(uids, uid)
		delete(v.recent, uid)
		delete(v.told, uid)
		if err == nil {
			err = write(uint32(i + 1))
		}
		v.uids[i] = 0
		removed = true
	}
	if removed {
		for _, uid := range v.uids {
			if uid != 0 {
				keep = append(keep, uid)
			}
		}
		v.uids = keep
	}
	return err
}

// noteSelfFlags records flags this session set itself (STORE, \Seen by
// FETCH): the store's notification of them is no news to the client.
func (v *view) noteSelfFlags(infos []mailstore.MessageInfo) {
	for i := range infos {
		v.noteTold(&infos[i])
		v.learnKeywords(infos[i].Flags)
	}
}

// noteTold records the flags of a message as the client knows them.
func (v *view) noteTold(m *mailstore.MessageInfo) {
	if len(v.told) >= 1<<16 {
		// Bounded: forgetting costs at most a repeated FETCH FLAGS.
		clear(v.told)
	}
	v.told[m.UID] = max(v.told[m.UID], m.ModSeq)
}
