package imapserve

import (
	"errors"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/maildock/maildock/mailstore"
)

func (s *session) Select(mailbox string, options *imap.SelectOptions) (_ *imap.SelectData, err error) {
	defer s.guard("SELECT", &err)
	if s.sel != nil { // go-imap unselects first; be sure
		s.sel.close()
		s.sel = nil
	}
	name, err := mailboxName(mailbox)
	if err != nil {
		return nil, err
	}
	v := newView(s, name, options.ReadOnly)
	s.srv.hub.register(v)
	snap, err := s.snapshot(name, mailbox)
	if err != nil {
		v.close()
		return nil, err
	}
	v.init(snap)
	s.sel = v
	data := &imap.SelectData{
		Flags:       v.mailboxFlags(),
		NumMessages: uint32(len(v.uids)),
		NumRecent:   uint32(len(v.recent)),
		UIDNext:     imap.UID(snap.UIDNext),
		UIDValidity: snap.UIDValidity,
	}
	if v.readOnly {
		data.PermanentFlags = []imap.Flag{}
	} else {
		data.PermanentFlags = append(v.mailboxFlags(), imap.FlagWildcard)
	}
	for i := range snap.Messages {
		if !snap.Messages[i].HasFlag(mailstore.FlagSeen) {
			data.FirstUnseenSeqNum = uint32(i + 1)
			break
		}
	}
	s.log.Debug("imap: select", "account", s.account, "mailbox", name, "read_only", v.readOnly, "messages", len(v.uids))
	return data, nil
}

func (s *session) Unselect() (err error) {
	defer s.guard("UNSELECT", &err)
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	return nil
}

// selected returns the selected view, or an error if it is gone.
func (s *session) selected() (*view, error) {
	if s.sel == nil {
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "No mailbox selected"}
	}
	if s.sel.goneAfter != 0 {
		return nil, errSelectedGone
	}
	return s.sel, nil
}

func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) (err error) {
	defer s.guard("EXPUNGE", &err)
	v, err := s.selected()
	if err != nil {
		return err
	}
	if v.readOnly {
		// Nothing is removed (RFC 3501 section 6.4.2 for CLOSE); EXPUNGE
		// succeeds doing nothing, as in Dovecot.
		return nil
	}
	idx := make([]int, len(v.uids))
	for i := range idx {
		idx[i] = i
	}
	if uids != nil {
		if idx, err = v.resolve(*uids); err != nil {
			return err
		}
	}
	cand := make([]uint32, len(idx))
	for i, j := range idx {
		cand[i] = v.uids[j]
	}
	gone, err := s.srv.store.ExpungeDeleted(s.ctx(), s.account, v.name, cand)
	if err != nil {
		return s.storeErr("expunge", err)
	}
	if len(gone) == 0 {
		return nil
	}
	set := make(map[uint32]struct{}, len(gone))
	for _, uid := range gone {
		set[uid] = struct{}{}
	}
	s.log.Info("imap: expunge", "account", s.account, "mailbox", v.name, "messages", len(gone))
	return v.expunge(set, w.WriteExpunge)
}

// storeFlags checks the flags of a STORE or APPEND: system flags other
// than the five a client may set (\Recent included) are BAD, as in
// Dovecot.
func storeFlags(flags []imap.Flag) ([]string, error) {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if strings.HasPrefix(string(f), `\`) {
			switch strings.ToLower(string(f)) {
			case `\seen`, `\answered`, `\flagged`, `\deleted`, `\draft`:
			default:
				return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "Invalid system flag " + string(f)}
			}
		}
		out = append(out, string(f))
	}
	return out, nil
}

var errExpungeIssued = &imap.Error{Type: imap.StatusResponseTypeOK, Code: "EXPUNGEISSUED", Text: "Some messages were already expunged."}

func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) (err error) {
	defer s.guard("STORE", &err)
	v, err := s.selected()
	if err != nil {
		return err
	}
	fl, err := storeFlags(flags.Flags)
	if err != nil {
		return err
	}
	idx, err := v.resolve(numSet)
	if err != nil {
		return err
	}
	if v.readOnly {
		// As Dovecot answers (RFC 3501 leaves it open): nothing changes.
		return &imap.Error{Type: imap.StatusResponseTypeOK, Text: "Store ignored with read-only mailbox."}
	}
	if len(idx) == 0 {
		return nil
	}
	uids := make([]uint32, len(idx))
	for i, j := range idx {
		uids[i] = v.uids[j]
	}
	var op mailstore.FlagOp
	switch flags.Op {
	case imap.StoreFlagsAdd:
		op = mailstore.FlagsAdd
	case imap.StoreFlagsDel:
		op = mailstore.FlagsRemove
	default:
		op = mailstore.FlagsReplace
	}
	// As Dovecot does, only messages whose flags change get a FETCH.
	before, err := s.srv.store.MessagesByUID(s.account, v.name, uids)
	if err != nil {
		if errors.Is(err, mailstore.ErrNotFound) {
			return errSelectedGone
		}
		return s.storeErr("store", err)
	}
	infos := before
	if op == mailstore.FlagsReplace || len(fl) > 0 {
		infos, err = s.srv.store.SetFlags(s.ctx(), s.account, v.name, uids, op, fl)
		if err != nil {
			if errors.Is(err, mailstore.ErrNotFound) {
				return errSelectedGone
			}
			return s.storeErr("store", err)
		}
		v.noteSelfFlags(infos)
	}
	changed := make(map[uint32]bool, len(infos))
	for i, j := 0, 0; i < len(infos); i++ {
		for j < len(before) && before[j].UID < infos[i].UID {
			j++
		}
		if j == len(before) || before[j].UID != infos[i].UID || !slices.Equal(before[j].Flags, infos[i].Flags) {
			changed[infos[i].UID] = true
		}
	}
	return s.writeStoreResult(w, v, numSet, flags.Silent, infos, changed, len(uids))
}

func (s *session) writeStoreResult(w *imapserver.FetchWriter, v *view, numSet imap.NumSet, silent bool, infos []mailstore.MessageInfo, changed map[uint32]bool, asked int) error {
	if err := v.announceKeywords(infos, s.writeMailboxFlags); err != nil {
		return err
	}
	if !silent {
		_, byUID := numSet.(imap.UIDSet)
		for i := range infos {
			m := &infos[i]
			if !changed[m.UID] {
				continue
			}
			rw := w.CreateMessage(v.seqOf(m.UID))
			if byUID {
				rw.WriteUID(imap.UID(m.UID))
			}
			rw.WriteFlags(v.msgFlags(m))
			if err := rw.Close(); err != nil {
				return err
			}
		}
	}
	if len(infos) < asked {
		return errExpungeIssued
	}
	return nil
}

// copyTarget checks the destination of COPY and MOVE.
func (s *session) copyTarget(dest string) (string, error) {
	name, err := mailboxName(dest)
	if err != nil {
		return "", err
	}
	if ok, err := s.exists(name); err != nil {
		return "", s.storeErr("copy", err)
	} else if !ok {
		return "", errTryCreate(dest)
	}
	return name, nil
}

func (s *session) copyMove(numSet imap.NumSet, dest string, move bool) (*view, *mailstore.CopyResult, error) {
	v, err := s.selected()
	if err != nil {
		return nil, nil, err
	}
	if move && v.readOnly {
		return nil, nil, errReadOnly
	}
	idx, err := v.resolve(numSet)
	if err != nil {
		return nil, nil, err
	}
	if len(idx) == 0 {
		// As in Dovecot: no messages, nothing to check.
		return v, &mailstore.CopyResult{}, nil
	}
	name, err := s.copyTarget(dest)
	if err != nil {
		return nil, nil, err
	}
	uids := make([]uint32, len(idx))
	for i, j := range idx {
		uids[i] = v.uids[j]
	}
	res, err := s.srv.store.Copy(s.ctx(), s.account, v.name, uids, name, move)
	if errors.Is(err, mailstore.ErrNotFound) {
		return nil, nil, errTryCreate(dest)
	}
	if err != nil {
		return nil, nil, s.storeErr("copy", err)
	}
	if name == v.name {
		v.noteAdded(res.DstUIDs...)
	}
	verb := "copy"
	if move {
		verb = "move"
	}
	s.log.Info("imap: "+verb, "account", s.account, "from", v.name, "to", name, "messages", len(res.SrcUIDs))
	return v, &res, nil
}

func copyData(res *mailstore.CopyResult) *imap.CopyData {
	if len(res.SrcUIDs) == 0 {
		return nil
	}
	data := &imap.CopyData{UIDValidity: res.UIDValidity}
	var src, dst imap.UIDSet
	for i := range res.SrcUIDs {
		src.AddNum(imap.UID(res.SrcUIDs[i]))
		dst.AddNum(imap.UID(res.DstUIDs[i]))
	}
	data.SourceUIDs, data.DestUIDs = src, dst
	return data
}

func (s *session) Copy(numSet imap.NumSet, dest string) (_ *imap.CopyData, err error) {
	defer s.guard("COPY", &err)
	_, res, err := s.copyMove(numSet, dest, false)
	if err != nil {
		return nil, err
	}
	return copyData(res), nil
}

func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) (err error) {
	defer s.guard("MOVE", &err)
	v, res, err := s.copyMove(numSet, dest, true)
	if err != nil {
		return err
	}
	if data := copyData(res); data != nil {
		if err := w.WriteCopyData(data); err != nil {
			return err
		}
	}
	set := make(map[uint32]struct{}, len(res.SrcUIDs))
	for _, uid := range res.SrcUIDs {
		set[uid] = struct{}{}
	}
	// MOVE into the selected mailbox itself: the originals go here, the
	// copies come as EXISTS (copyMove queued them).
	return v.expunge(set, w.WriteExpunge)
}
