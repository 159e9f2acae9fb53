package imapserve

import (
	"bytes"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
)

// SASL mechanisms. Their failures all end in the same
// NO [AUTHENTICATIONFAILED] as a wrong password: a malformed exchange says
// nothing about whether an account exists.

var errSASLSequence = &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unexpected SASL response"}

// plainServer is RFC 4616 PLAIN. Unlike go-sasl's, it answers a missing
// initial response with an empty "+ " (as Dovecot does) and a malformed
// message with AUTHENTICATIONFAILED.
type plainServer struct {
	login func(user, pass string) error
	done  bool
}

var _ sasl.Server = (*plainServer)(nil)

func (p *plainServer) Next(response []byte) ([]byte, bool, error) {
	if p.done {
		return nil, true, errSASLSequence
	}
	if response == nil {
		return nil, false, nil
	}
	p.done = true
	parts := bytes.Split(response, []byte{0})
	if len(parts) != 3 {
		return nil, true, imapserver.ErrAuthFailed
	}
	authzid, user, pass := string(parts[0]), string(parts[1]), string(parts[2])
	if authzid != "" && authzid != user {
		return nil, true, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthorizationFailed,
			Text: "Authorization identity other than the user is not supported"}
	}
	return nil, true, p.login(user, pass)
}

// loginServer is the LOGIN mechanism (draft-murchison-sasl-login), which
// Outlook and many .NET and Java mail libraries use: the server asks
// "Username:" then "Password:". With SASL-IR the first answer (the user
// name) may come with the command.
type loginServer struct {
	login func(user, pass string) error
	step  int
	user  string
}

var _ sasl.Server = (*loginServer)(nil)

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.login(l.user, string(response))
	}
	return nil, true, errSASLSequence
}
