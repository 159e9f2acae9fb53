package imapserve

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// Every command through go-imap's client, as an application built on it
// would use them, one named step at a time. Later steps build on earlier
// ones.
func TestGoIMAPClientCommands(t *testing.T) {
	e := newIMAPEnv(t)
	for i := range 3 {
		e.deliver(imapUser, "INBOX", testMessage(i, fmt.Sprintf("client %d", i)))
	}
	c := e.client()
	code := func(err error) imap.ResponseCode {
		var ierr *imap.Error
		if errors.As(err, &ierr) {
			return ierr.Code
		}
		return ""
	}
	uids := func(data *imap.SearchData) []imap.UID { return data.AllUIDs() }
	for _, step := range []struct {
		name string
		run  func() error
	}{
		{"CAPABILITY", func() error {
			caps, err := c.Capability().Wait()
			if err == nil && (!caps.Has(imap.CapIMAP4rev1) || !caps.Has(imap.CapStartTLS)) {
				err = fmt.Errorf("caps %v", caps)
			}
			return err
		}},
		{"LOGIN wrong", func() error {
			if err := c.Login(imapUser, "nope").Wait(); code(err) != imap.ResponseCodeAuthenticationFailed {
				return fmt.Errorf("got %v", err)
			}
			return nil
		}},
		{"LOGIN", func() error { return c.Login(imapUser, imapPass).Wait() }},
		{"NOOP", func() error { return c.Noop().Wait() }},
		{"NAMESPACE", func() error {
			ns, err := c.Namespace().Wait()
			if err == nil && (len(ns.Personal) != 1 || ns.Personal[0].Delim != '/') {
				err = fmt.Errorf("%+v", ns)
			}
			return err
		}},
		{"ENABLE", func() error { _, err := c.Enable(imap.CapUTF8Accept).Wait(); return err }},
		{"CREATE", func() error { return c.Create("Reports/2024", nil).Wait() }},
		{"CREATE exists", func() error {
			if err := c.Create("Reports/2024", nil).Wait(); code(err) != imap.ResponseCodeAlreadyExists {
				return fmt.Errorf("got %v", err)
			}
			return nil
		}},
		{"RENAME", func() error { return c.Rename("Reports/2024", "Reports/Old", nil).Wait() }},
		{"SUBSCRIBE", func() error { return c.Subscribe("Reports/Old").Wait() }},
		{"UNSUBSCRIBE", func() error { return c.Unsubscribe("Reports/Old").Wait() }},
		{"LIST", func() error {
			l, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
			if err != nil {
				return err
			}
			var names []string
			for _, d := range l {
				names = append(names, d.Mailbox)
			}
			if !slices.Equal(names, []string{"INBOX", "Reports", "Reports/Old"}) || l[0].Status == nil || *l[0].Status.NumMessages != 3 {
				return fmt.Errorf("%v %+v", names, l[0])
			}
			return nil
		}},
		{"LSUB (LIST SUBSCRIBED)", func() error {
			l, err := c.List("", "Reports/*", &imap.ListOptions{SelectSubscribed: true}).Collect()
			if err == nil && len(l) != 0 {
				err = fmt.Errorf("unsubscribed mailbox listed: %+v", l)
			}
			return err
		}},
		{"STATUS", func() error {
			st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true, UIDNext: true}).Wait()
			if err == nil && (*st.NumMessages != 3 || *st.NumUnseen != 3 || st.UIDNext != 4) {
				err = fmt.Errorf("%+v", st)
			}
			return err
		}},
		{"APPEND", func() error {
			msg := testMessage(9, "appended by client")
			w := c.Append("Reports/Old", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
			w.Write(msg)
			w.Close()
			data, err := w.Wait()
			if err == nil && data.UID != 1 {
				err = fmt.Errorf("%+v", data)
			}
			return err
		}},
		{"APPEND TRYCREATE", func() error {
			w := c.Append("Missing", 5, nil)
			w.Write([]byte("hello"))
			w.Close()
			if _, err := w.Wait(); code(err) != imap.ResponseCodeTryCreate {
				return fmt.Errorf("got %v", err)
			}
			return nil
		}},
		{"EXAMINE", func() error {
			data, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
			if err == nil && (data.NumMessages != 3 || len(data.PermanentFlags) != 0) {
				err = fmt.Errorf("%+v", data)
			}
			return err
		}},
		{"SELECT", func() error {
			data, err := c.Select("INBOX", nil).Wait()
			if err == nil && (data.NumMessages != 3 || data.UIDNext != 4 || data.UIDValidity == 0) {
				err = fmt.Errorf("%+v", data)
			}
			return err
		}},
		{"FETCH", func() error {
			msgs, err := c.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{UID: true, Envelope: true,
				BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
			if err != nil {
				return err
			}
			if msgs[0].UID != 2 || msgs[0].Envelope.Subject != "client 1" || string(msgs[0].BodySection[0].Bytes) != string(testMessage(1, "client 1")) {
				return fmt.Errorf("%+v", msgs[0])
			}
			return nil
		}},
		{"SEARCH", func() error {
			data, err := c.Search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
			if err == nil && !slices.Equal(data.AllSeqNums(), []uint32{1, 3}) {
				err = fmt.Errorf("%v", data.AllSeqNums())
			}
			return err
		}},
		{"UID SEARCH (ESEARCH)", func() error {
			data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "CLIENT"}}},
				&imap.SearchOptions{ReturnAll: true, ReturnCount: true}).Wait()
			if err == nil && (!slices.Equal(uids(data), []imap.UID{1, 2, 3}) || data.Count != 3) {
				err = fmt.Errorf("%+v", data)
			}
			return err
		}},
		{"STORE", func() error {
			msgs, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted, "$Done"}}, nil).Collect()
			if err == nil && (len(msgs) != 1 || !slices.Contains(msgs[0].Flags, "$Done")) {
				err = fmt.Errorf("%+v", msgs)
			}
			return err
		}},
		{"COPY", func() error {
			data, err := c.Copy(imap.SeqSetNum(3), "Reports/Old").Wait()
			if err == nil && (data.UIDValidity == 0 || data.DestUIDs.String() != "2") {
				err = fmt.Errorf("%+v", data)
			}
			return err
		}},
		{"MOVE", func() error {
			data, err := c.Move(imap.UIDSetNum(3), "Reports/Old").Wait()
			if err == nil && (data.SourceUIDs.String() != "3" || data.DestUIDs.String() != "3") {
				err = fmt.Errorf("%+v", data)
			}
			if err == nil && c.Mailbox().NumMessages != 2 {
				err = fmt.Errorf("%d messages after MOVE", c.Mailbox().NumMessages)
			}
			return err
		}},
		{"UID EXPUNGE", func() error {
			gone, err := c.UIDExpunge(imap.UIDSetNum(2)).Collect()
			if err == nil && len(gone) != 0 {
				err = fmt.Errorf("expunged %v without \\Deleted", gone)
			}
			return err
		}},
		{"EXPUNGE", func() error {
			gone, err := c.Expunge().Collect()
			if err == nil && !slices.Equal(gone, []uint32{1}) {
				err = fmt.Errorf("expunged %v", gone)
			}
			return err
		}},
		{"IDLE", func() error {
			idle, err := c.Idle()
			if err != nil {
				return err
			}
			if err := idle.Close(); err != nil {
				return err
			}
			return idle.Wait()
		}},
		{"UNSELECT", func() error { return c.Unselect().Wait() }},
		{"CLOSE", func() error {
			if _, err := c.Select("Reports/Old", nil).Wait(); err != nil {
				return err
			}
			if _, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
				return err
			}
			if err := c.UnselectAndExpunge().Wait(); err != nil {
				return err
			}
			st, err := c.Status("Reports/Old", &imap.StatusOptions{NumMessages: true}).Wait()
			if err == nil && *st.NumMessages != 2 {
				err = fmt.Errorf("%d messages after CLOSE", *st.NumMessages)
			}
			return err
		}},
		{"DELETE", func() error { return c.Delete("Reports/Old").Wait() }},
		{"DELETE missing", func() error {
			if err := c.Delete("Reports/Old").Wait(); code(err) != imap.ResponseCodeNonExistent {
				return fmt.Errorf("got %v", err)
			}
			return nil
		}},
		{"LOGOUT", func() error { return c.Logout().Wait() }},
	} {
		if err := step.run(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
}
