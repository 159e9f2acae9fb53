package imapserve

import (
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/maildock/maildock/mailstore"
)

// specialUse gives the RFC 6154 attribute of the usual names of special
// mailboxes (top level, any case), as a Dovecot configuration commonly does.
func specialUse(name string) imap.MailboxAttr {
	switch strings.ToLower(name) {
	case "sent", "sent items", "sent messages":
		return imap.MailboxAttrSent
	case "drafts":
		return imap.MailboxAttrDrafts
	case "trash", "deleted items", "deleted messages":
		return imap.MailboxAttrTrash
	case "junk", "spam", "junk e-mail", "junk email":
		return imap.MailboxAttrJunk
	case "archive", "archives":
		return imap.MailboxAttrArchive
	}
	return ""
}

// maxPattern bounds a LIST pattern (matching costs its length times the
// name's).
const maxPattern = 1024

func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) (err error) {
	defer s.guard("LIST", &err)
	if len(patterns) == 0 {
		// LIST "" "": the hierarchy delimiter (RFC 3501 section 6.3.8).
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/', Mailbox: ""})
	}
	for _, p := range patterns {
		if len(ref)+len(p) > maxPattern {
			return &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "Pattern too long"}
		}
	}
	boxes, err := s.srv.store.Mailboxes(s.account)
	if err != nil {
		return s.storeErr("list", err)
	}
	exists := make(map[string]mailstore.MailboxInfo, len(boxes))
	for _, b := range boxes {
		exists[b.Name] = b
	}
	// Parents that are not mailboxes themselves are listed as \Noselect.
	all := map[string]bool{}
	hasChildren := map[string]bool{}
	for _, b := range boxes {
		all[b.Name] = true
		parts := strings.Split(b.Name, mailstore.Separator)
		for i := 1; i < len(parts); i++ {
			parent := strings.Join(parts[:i], mailstore.Separator)
			all[parent] = true
			hasChildren[parent] = true
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "INBOX") != (names[j] == "INBOX") {
			return names[i] == "INBOX"
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		matched := false
		for _, p := range patterns {
			if listMatch(name, ref, p) {
				matched = true
				break
			}
		}
		if !matched {
			continue
		}
		info, real := exists[name]
		if isLSUB(options) {
			if err := s.writeLSUB(w, name, real && info.Subscribed, boxes, ref, patterns); err != nil {
				return err
			}
			continue
		}
		if options.SelectSubscribed && !(real && info.Subscribed) {
			continue
		}
		special := specialUse(name)
		if options.SelectSpecialUse && special == "" {
			continue
		}
		data := &imap.ListData{Mailbox: name, Delim: '/'}
		if !real {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect)
		}
		if hasChildren[name] {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if (options.ReturnSubscribed || options.SelectSubscribed) && real && info.Subscribed && !isLSUB(options) {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if special != "" {
			data.Attrs = append(data.Attrs, special)
		}
		if options.ReturnStatus != nil && real {
			snap, err := s.snapshot(name, name)
			if err != nil {
				continue // deleted meanwhile
			}
			data.Status = s.statusData(name, snap, options.ReturnStatus)
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

// writeLSUB answers LSUB for one name the patterns matched. A subscribed
// mailbox is listed plainly (LSUB carries no child attributes, as in
// Dovecot). A name that is not subscribed is listed with \Noselect when a
// subscribed mailbox below it is hidden from the patterns (by "%"), so
// the client can still find it (RFC 3501 section 6.3.9).
func (s *session) writeLSUB(w *imapserver.ListWriter, name string, subscribed bool, boxes []mailstore.MailboxInfo, ref string, patterns []string) error {
	if subscribed {
		return w.WriteList(&imap.ListData{Mailbox: name, Delim: '/'})
	}
	prefix := name + mailstore.Separator
	for _, b := range boxes {
		if !b.Subscribed || !strings.HasPrefix(b.Name, prefix) {
			continue
		}
		hidden := true
		for _, p := range patterns {
			if listMatch(b.Name, ref, p) {
				hidden = false
				break
			}
		}
		if hidden {
			return w.WriteList(&imap.ListData{Mailbox: name, Delim: '/', Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}})
		}
	}
	return nil
}

// isLSUB: go-imap runs LSUB as a LIST selecting subscribed mailboxes, with
// nothing else set; LSUB responses carry no \Subscribed.
func isLSUB(o *imap.ListOptions) bool {
	return o.SelectSubscribed && !o.ReturnSubscribed && !o.SelectRemote && !o.SelectRecursiveMatch &&
		!o.SelectSpecialUse && !o.ReturnChildren && !o.ReturnSpecialUse && o.ReturnStatus == nil
}

// listMatch matches a mailbox name against a LIST reference and pattern:
// "*" matches anything, "%" anything but the hierarchy separator. As in
// Dovecot, the reference is put before the pattern unless the pattern
// starts with the separator, and INBOX matches in any case.
func listMatch(name, ref, pattern string) bool {
	full := pattern
	if !strings.HasPrefix(pattern, mailstore.Separator) {
		full = ref + pattern
	}
	if len(full) >= 5 && strings.EqualFold(full[:5], "INBOX") && (len(full) == 5 || full[5] == '/') {
		full = "INBOX" + full[5:]
	}
	return wildMatch(name, full)
}

// wildMatch is a dynamic-programming match: O(len(name)*len(pattern)),
// whatever the pattern.
func wildMatch(name, pattern string) bool {
	// prev[j]: name[:i] matches pattern[:j]
	prev := make([]bool, len(pattern)+1)
	cur := make([]bool, len(pattern)+1)
	prev[0] = true
	for j := 1; j <= len(pattern); j++ {
		prev[j] = prev[j-1] && (pattern[j-1] == '*' || pattern[j-1] == '%')
	}
	for i := 1; i <= len(name); i++ {
		cur[0] = false
		for j := 1; j <= len(pattern); j++ {
			switch pc := pattern[j-1]; pc {
			case '*':
				cur[j] = cur[j-1] || prev[j]
			case '%':
				cur[j] = cur[j-1] || (prev[j] && name[i-1] != '/')
			default:
				cur[j] = prev[j-1] && name[i-1] == pc
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(pattern)]
}
