package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits. RFC 2449 section 4: a command line is at most 255 octets with its
// CRLF; RFC 5034 section 4 allows AUTH initial responses beyond that, so
// lines while authenticating may be longer.
const (
	maxLine        = 255
	maxAuthLine    = 4096
	maxAuthFails   = 3
	maxProtoErrors = 20
)

type state int

const (
	stateAuth state = iota
	stateTrans
)

type conn struct {
	s     *Server
	nc    net.Conn
	id    string
	log   *slog.Logger
	br    *bufio.Reader
	bw    *bufio.Writer
	isTLS bool

	mu      sync.Mutex // guards closing, and nc against Shutdown's deadline
	closing bool

	state   state
	user    string
	drop    Maildrop
	msgs    []Message
	deleted []bool
	fails   int
	errs    int
}

func (c *conn) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closing = true
	// Reads fail at once; the session loop then says goodbye.
	c.nc.SetReadDeadline(time.Now())
}

// armRead sets the idle deadline for the next command, unless Shutdown has
// begun: then the read fails at once. Under mu, so that a Shutdown between
// a reply and the next read cannot be undone by the idle deadline (the
// session would wait out the idle timeout instead of saying goodbye).
func (c *conn) armRead() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		c.nc.SetReadDeadline(time.Now())
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(c.s.opt.IdleTimeout))
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

func (c *conn) reply(format string, a ...any) {
	fmt.Fprintf(c.bw, format, a...)
	c.bw.WriteString("\r\n")
}

// flush writes buffered replies unless more pipelined commands are already
// waiting: their replies go out together (RFC 2449 PIPELINING).
func (c *conn) flush() error {
	if c.br.Buffered() > 0 {
		return nil
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.s.opt.IdleTimeout))
	return c.bw.Flush()
}

func (c *conn) serve() {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("pop3: panic in session", "panic", fmt.Sprint(v))
		}
		if c.drop != nil {
			c.drop.Close()
		}
		c.nc.Close()
	}()
	if tc, ok := c.nc.(*tls.Conn); ok {
		c.nc.SetDeadline(time.Now().Add(c.s.opt.IdleTimeout))
		if err := tc.Handshake(); err != nil {
			c.log.Debug("pop3: TLS handshake failed", "err", err)
			return
		}
	}
	c.reply("+OK %s POP3 server ready", c.s.opt.Greeting)
	c.flush()
	for {
		line, err := c.readLine(c.lineLimit())
		if c.isClosing() {
			c.reply("-ERR [SYS/TEMP] server shutting down")
			c.bw.Flush()
			return
		}
		if errors.Is(err, errLineTooLong) {
			c.reply("-ERR line too long")
			if c.protoError() {
				return
			}
			c.flush()
			continue
		}
		if err != nil {
			if err != io.EOF {
				c.log.Debug("pop3: connection ended", "err", err)
			}
			return
		}
		quit := c.handle(line)
		if err := c.flush(); err != nil || quit {
			c.bw.Flush()
			return
		}
	}
}

func (c *conn) lineLimit() int {
	if c.state == stateAuth {
		return maxAuthLine
	}
	return maxLine
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line (CRLF or LF), at most limit octets; a longer one
// is discarded up to its end without being kept.
func (c *conn) readLine(limit int) (string, error) {
	c.armRead()
	var buf []byte
	for {
		frag, err := c.br.ReadSlice('\n')
		if len(buf)+len(frag) > limit {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = c.br.ReadSlice('\n')
			}
			if err != nil {
				return "", err
			}
			return "", errLineTooLong
		}
		buf = append(buf, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(buf), "\r\n"), nil
	}
}

// protoError counts a protocol error; too many end the session.
func (c *conn) protoError() bool {
	c.errs++
	if c.errs >= maxProtoErrors {
		c.reply("-ERR [SYS/PERM] too many errors, closing")
		return true
	}
	return false
}

// parseCommand splits a command line into an upper-cased keyword and its
// arguments.
func parseCommand(line string) (cmd string, args []string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return "", nil
	}
	return strings.ToUpper(f[0]), f[1:]
}

func (c *conn) handle(line string) (quit bool) {
	cmd, args := parseCommand(line)
	if cmd != "PASS" && cmd != "AUTH" {
		c.log.Debug("pop3: command", "line", line)
	} else {
		c.log.Debug("pop3: command", "line", cmd+" <redacted>")
	}
	if strings.IndexByte(line, 0) >= 0 {
		c.reply("-ERR invalid characters")
		return c.protoError()
	}
	switch cmd {
	case "QUIT":
		return c.quit()
	case "CAPA":
		c.capa()
		return false
	case "NOOP":
		if c.state != stateTrans {
			break
		}
		c.reply("+OK")
		return false
	}
	if c.state == stateAuth {
		switch cmd {
		case "USER":
			return c.userCmd(args)
		case "PASS":
			return c.passCmd(line)
		case "AUTH":
			return c.authCmd(args)
		case "STLS":
			return c.stls()
		case "APOP":
			c.reply("-ERR APOP is not supported")
			return false
		case "STAT", "LIST", "UIDL", "RETR", "TOP", "DELE", "RSET", "NOOP":
			c.reply("-ERR log in first")
			return false
		}
	} else {
		switch cmd {
		case "STAT":
			c.stat()
			return false
		case "LIST", "UIDL":
			c.list(cmd, args)
			return false
		case "RETR":
			return c.retr(args)
		case "TOP":
			return c.top(args)
		case "DELE":
			c.dele(args)
			return false
		case "RSET":
			for i := range c.deleted {
				c.deleted[i] = false
			}
			c.reply("+OK maildrop has %d messages", len(c.msgs))
			return false
		case "USER", "PASS", "AUTH", "STLS", "APOP":
			c.reply("-ERR already logged in")
			return false
		}
	}
	c.reply("-ERR unknown command")
	return c.protoError()
}

func (c *conn) plaintextAllowed() bool {
	if c.isTLS {
		return true
	}
	return c.s.opt.AllowPlaintext != nil && c.s.opt.AllowPlaintext(c.nc.RemoteAddr())
}

func (c *conn) stlsOffered() bool {
	return c.s.opt.TLSConfig != nil && !c.isTLS && c.state == stateAuth
}

func (c *conn) capa() {
	c.reply("+OK capability list follows")
	lines := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"}
	if c.state == stateAuth && c.plaintextAllowed() {
		// RFC 2595 section 4: USER and SASL may be left out until STLS.
		lines = append(lines, "USER", "SASL PLAIN LOGIN")
	}
	if c.stlsOffered() {
		lines = append(lines, "STLS")
	}
	if c.s.opt.Expire != "" {
		lines = append(lines, "EXPIRE "+c.s.opt.Expire)
	}
	if c.s.opt.LoginDelay > 0 {
		lines = append(lines, "LOGIN-DELAY "+strconv.Itoa(c.s.opt.LoginDelay))
	}
	if c.s.opt.Implementation != "" {
		lines = append(lines, "IMPLEMENTATION "+c.s.opt.Implementation)
	}
	for _, l := range lines {
		c.reply("%s", l)
	}
	c.reply(".")
}

func (c *conn) stls() bool {
	if !c.stlsOffered() {
		c.reply("-ERR STLS not available")
		return false
	}
	c.reply("+OK begin TLS negotiation")
	if err := c.bw.Flush(); err != nil {
		return true
	}
	if c.br.Buffered() > 0 {
		// Commands sent before the handshake would be plaintext injection
		// (RFC 2595 section 4 intent; CVE-2011-0411 in SMTP).
		return true
	}
	tc := tls.Server(c.nc, c.s.opt.TLSConfig)
	tc.SetDeadline(time.Now().Add(c.s.opt.IdleTimeout))
	if err := tc.Handshake(); err != nil {
		c.log.Debug("pop3: STLS handshake failed", "err", err)
		return true
	}
	c.mu.Lock()
	c.nc = tc
	c.mu.Unlock()
	c.isTLS, c.user = true, ""
	c.br.Reset(tc)
	c.bw.Reset(tc)
	return false
}

func (c *conn) userCmd(args []string) bool {
	if !c.plaintextAllowed() {
		// RFC 3206: AUTH is for credential problems; SYS/PERM says this
		// will not work here however often it is tried.
		c.reply("-ERR [SYS/PERM] plaintext login is disabled here: use STLS or POP3S")
		return false
	}
	if len(args) != 1 {
		c.reply("-ERR usage: USER name")
		return c.protoError()
	}
	c.user = args[0]
	c.reply("+OK send PASS")
	return false
}

func (c *conn) passCmd(line string) bool {
	if c.user == "" {
		c.reply("-ERR USER first")
		return c.protoError()
	}
	// The password is the rest of the line: it may contain spaces.
	pass := ""
	if i := strings.IndexByte(line, ' '); i >= 0 {
		pass = line[i+1:]
	}
	user := c.user
	c.user = ""
	return c.login(user, pass, "USER")
}

func (c *conn) authCmd(args []string) bool {
	if len(args) == 0 {
		// Some clients list mechanisms this way (a common extension).
		c.reply("+OK")
		c.reply("PLAIN")
		c.reply("LOGIN")
		c.reply(".")
		return false
	}
	if !c.plaintextAllowed() {
		c.reply("-ERR [SYS/PERM] plaintext login is disabled here: use STLS or POP3S")
		return false
	}
	mech := strings.ToUpper(args[0])
	var initial *string
	if len(args) > 1 {
		initial = &args[1]
	}
	switch mech {
	case "PLAIN":
		resp, ok := c.saslStep("", initial)
		if !ok {
			return false
		}
		parts := strings.Split(string(resp), "\x00")
		if len(parts) != 3 || (parts[0] != "" && parts[0] != parts[1]) {
			c.reply("-ERR [AUTH] invalid username or password")
			return c.authFailed()
		}
		return c.login(parts[1], parts[2], "PLAIN")
	case "LOGIN":
		user, ok := c.saslStep("VXNlcm5hbWU6", initial) // "Username:"
		if !ok {
			return false
		}
		pass, ok := c.saslStep("UGFzc3dvcmQ6", nil) // "Password:"
		if !ok {
			return false
		}
		return c.login(string(user), string(pass), "LOGIN")
	default:
		c.reply("-ERR unsupported mechanism")
		return false
	}
}

// saslStep sends a challenge (unless an initial response was given) and
// decodes the client's base64 answer. "*" cancels (RFC 5034 section 4).
func (c *conn) saslStep(challenge string, initial *string) ([]byte, bool) {
	var line string
	if initial != nil {
		line = *initial
		if line == "=" {
			line = ""
		}
	} else {
		c.reply("+ %s", challenge)
		c.bw.Flush()
		var err error
		if line, err = c.readLine(maxAuthLine); err != nil {
			c.reply("-ERR authentication aborted")
			return nil, false
		}
	}
	if line == "*" {
		c.reply("-ERR authentication cancelled")
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		c.reply("-ERR invalid base64")
		return nil, false
	}
	return b, true
}

func (c *conn) authFailed() bool {
	c.fails++
	if c.fails >= maxAuthFails {
		c.reply("-ERR [SYS/PERM] too many failed logins, closing")
		return true
	}
	return false
}

func (c *conn) login(user, pass, mech string) bool {
	info := ConnInfo{ID: c.id, Remote: c.nc.RemoteAddr(), Mechanism: mech}
	if tc, ok := c.nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		info.TLS = &st
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	drop, err := c.s.opt.Backend.Login(ctx, info, user, pass)
	switch {
	case errors.Is(err, ErrAuthFailed):
		c.reply("-ERR [AUTH] invalid username or password")
		return c.authFailed()
	case errors.Is(err, ErrInUse):
		c.reply("-ERR [IN-USE] maildrop is in use by another session")
		return false
	case err != nil:
		c.log.Error("pop3: login", "user", user, "err", err)
		c.reply("-ERR [SYS/TEMP] temporary problem, try again later")
		return false
	}
	c.drop, c.msgs = drop, drop.Messages()
	c.deleted = make([]bool, len(c.msgs))
	c.state = stateTrans
	c.reply("+OK maildrop has %d messages", len(c.msgs))
	return false
}

func (c *conn) stat() {
	n, size := 0, int64(0)
	for i, m := range c.msgs {
		if !c.deleted[i] {
			n++
			size += m.Size
		}
	}
	c.reply("+OK %d %d", n, size)
}

// msgArg parses a message number that exists and is not deleted.
func (c *conn) msgArg(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > len(c.msgs) {
		c.reply("-ERR no such message")
		return 0, false
	}
	if c.deleted[n-1] {
		c.reply("-ERR message %d already deleted", n)
		return 0, false
	}
	return n, true
}

func (c *conn) list(cmd string, args []string) {
	value := func(i int) string {
		if cmd == "UIDL" {
			return c.msgs[i].UIDL
		}
		return strconv.FormatInt(c.msgs[i].Size, 10)
	}
	if len(args) > 0 {
		if n, ok := c.msgArg(args[0]); ok {
			c.reply("+OK %d %s", n, value(n-1))
		}
		return
	}
	c.reply("+OK")
	for i := range c.msgs {
		if !c.deleted[i] {
			c.reply("%d %s", i+1, value(i))
		}
	}
	c.reply(".")
}

func (c *conn) dele(args []string) {
	if len(args) != 1 {
		c.reply("-ERR usage: DELE n")
		return
	}
	if n, ok := c.msgArg(args[0]); ok {
		c.deleted[n-1] = true
		c.reply("+OK message %d deleted", n)
	}
}

func (c *conn) retr(args []string) bool {
	if len(args) != 1 {
		c.reply("-ERR usage: RETR n")
		return false
	}
	n, ok := c.msgArg(args[0])
	if !ok {
		return false
	}
	return c.send(n, -1)
}

func (c *conn) top(args []string) bool {
	if len(args) != 2 {
		c.reply("-ERR usage: TOP n lines")
		return false
	}
	lines, err := strconv.Atoi(args[1])
	if err != nil || lines < 0 {
		c.reply("-ERR invalid line count")
		return false
	}
	n, ok := c.msgArg(args[0])
	if !ok {
		return false
	}
	return c.send(n, lines)
}

// send streams message n: all of it (bodyLines < 0) or its header and the
// first bodyLines lines of its body.
func (c *conn) send(n, bodyLines int) bool {
	r, err := c.drop.Open(n)
	if errors.Is(err, ErrGone) {
		c.reply("-ERR message %d no longer exists", n)
		return false
	}
	if err != nil {
		c.log.Error("pop3: open message", "n", n, "err", err)
		c.reply("-ERR [SYS/TEMP] cannot read message %d now", n)
		return false
	}
	defer r.Close()
	c.reply("+OK %d octets", c.msgs[n-1].Size)
	w := &dotWriter{w: c.bw, nc: c.nc, timeout: c.s.opt.IdleTimeout, bol: true, bodyLines: bodyLines}
	if _, err := io.Copy(w, r); err != nil && !errors.Is(err, errTopDone) {
		// Mid-message, the reply can no longer be made an error: drop
		// the connection so the client does not take a truncated message.
		c.log.Error("pop3: sending message", "n", n, "err", err)
		return true
	}
	w.finish()
	c.bw.WriteString(".\r\n")
	return false
}

func (c *conn) quit() bool {
	if c.state != stateTrans {
		c.reply("+OK bye")
		return true
	}
	var del []int
	for i, d := range c.deleted {
		if d {
			del = append(del, i+1)
		}
	}
	if len(del) > 0 {
		if err := c.drop.Commit(del); err != nil {
			c.log.Error("pop3: commit deletions", "err", err)
			c.reply("-ERR [SYS/TEMP] some deleted messages not removed")
			return true
		}
	}
	// Unlock before answering, so a client that reconnects as soon as it
	// has the reply does not find its own maildrop in use.
	c.drop.Close()
	c.drop = nil
	c.reply("+OK bye, %d messages deleted", len(del))
	return true
}

var errTopDone = errors.New("top: enough lines")

// dotWriter sends message bytes as POP3 multi-line data: bare LF becomes
// CRLF, lines starting with "." get another ".", and for TOP it stops after
// the header and bodyLines body lines.
type dotWriter struct {
	w         *bufio.Writer
	nc        net.Conn
	timeout   time.Duration
	bol       bool // at the beginning of a line
	prevCR    bool
	bodyLines int  // < 0: whole message
	inBody    bool // TOP: past the blank line
	emptyLine bool // the current line is empty so far
	sent      int  // TOP: body lines sent
	any       bool
}

func (d *dotWriter) Write(p []byte) (int, error) {
	// Deadline per write, not per message: a slow reader of a large
	// message is fine as long as it keeps reading.
	d.nc.SetWriteDeadline(time.Now().Add(d.timeout))
	for i := 0; i < len(p); i++ {
		b := p[i]
		if d.bodyLines >= 0 && d.inBody && d.sent >= d.bodyLines {
			return i, errTopDone
		}
		if d.bol {
			if b == '.' {
				d.w.WriteByte('.')
			}
			d.bol, d.emptyLine = false, true
		}
		d.any = true
		switch b {
		case '\n':
			if !d.prevCR {
				d.w.WriteByte('\r')
			}
			d.w.WriteByte('\n')
			d.bol, d.prevCR = true, false
			if d.bodyLines >= 0 {
				if d.inBody {
					d.sent++
				} else if d.emptyLine {
					d.inBody = true
				}
			}
			continue
		case '\r':
			d.prevCR = true
		default:
			d.prevCR = false
			d.emptyLine = false
		}
		d.w.WriteByte(b)
	}
	return len(p), nil
}

// finish ends the last line if the message did not.
func (d *dotWriter) finish() {
	if d.any && !d.bol {
		if d.prevCR {
			d.w.WriteByte('\n')
		} else {
			d.w.WriteString("\r\n")
		}
	}
}

// CRLFSize counts the octets RETR sends for r's bytes before dot-stuffing:
// every bare LF counted as CRLF. A message that does not end with a line
// break gets one before the terminating "." line; that CRLF belongs to the
// terminator (RFC 1939 section 3) and is not counted.
func CRLFSize(r io.Reader) (int64, error) {
	var n int64
	var prev byte
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Read(buf)
		for _, b := range buf[:k] {
			if b == '\n' && prev != '\r' {
				n++
			}
			prev = b
			n++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}
