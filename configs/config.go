package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Config is a whole maildock configuration. The toml tags are the keys of
// the file; fields tagged "-" are derived from other fields by Load.
type Config struct {
	Hostname   string         `toml:"hostname"` // SMTP greeting and Received: headers
	DataDir    string         `toml:"data_dir"` // maildock.db and generated TLS material
	Log        LogConfig      `toml:"log"`
	TLS        TLSConfig      `toml:"tls"`
	SMTP       SMTPConfig     `toml:"smtp"`
	IMAP       ListenerConfig `toml:"imap"`
	POP3       ListenerConfig `toml:"pop3"`
	Submission ListenerConfig `toml:"submission"`
	Auth       AuthConfig     `toml:"auth"`
	HTTP       HTTPConfig     `toml:"http"`
	Relay      RelayConfig    `toml:"relay"`

	PickupOut []PickupOutConfig `toml:"pickup_out"`
	Accounts  []Account         `toml:"account"`
}

// LogConfig is [log].
type LogConfig struct {
	Level  string `toml:"level"`  // debug | info | warn | error
	Format string `toml:"format"` // text | json
}

// TLSConfig is [tls]: the server certificate. Both empty: a self-signed
// certificate for Hostname is generated into DataDir.
type TLSConfig struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// SelfSigned reports whether the server uses a generated certificate.
func (t TLSConfig) SelfSigned() bool { return t.CertFile == "" && t.KeyFile == "" }

// SMTPConfig is [smtp]: inbound mail.
type SMTPConfig struct {
	Listen          []string `toml:"listen"`     // plain, with STARTTLS
	ListenTLS       []string `toml:"listen_tls"` // implicit TLS
	MaxMessageSize  Size     `toml:"max_message_size"`
	MaxRecipients   int      `toml:"max_recipients"`
	RequireTLS      bool     `toml:"require_tls"`
	AllowedNetworks []string `toml:"allowed_networks"` // as written; empty = anyone
	LegacyTLS       bool     `toml:"legacy_tls"`
	// Connection caps: beyond them a new connection gets 421 4.7.0.
	// Exchange Online opens many connections from one address when it
	// drains a queue, hence the high per-IP default.
	MaxConnections      int `toml:"max_connections"`        // default 500
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"` // default 64
	// MaxErrors is how many error replies (unknown commands, bad
	// syntax, refused recipients) one session gets before 421 4.7.0 and
	// a close: an address harvester or a confused client stops there.
	MaxErrors int `toml:"max_errors"` // default 20
	// ClientCertNames, if set, admits MAIL only over TLS with a client
	// certificate valid for one of these names and issued by a CA in
	// ClientCAFile (empty: the system's roots). Exchange Online presents
	// one for mail.protection.outlook.com.
	ClientCertNames []string `toml:"client_cert_names"`
	ClientCAFile    string   `toml:"client_ca_file"`

	// AllowedPrefixes is AllowedNetworks parsed; bare addresses become
	// /32 or /128.
	AllowedPrefixes []netip.Prefix `toml:"-"`
}

// ListenerConfig is [imap], [pop3] and [submission].
type ListenerConfig struct {
	Listen    []string `toml:"listen"`     // plain, with STARTTLS
	ListenTLS []string `toml:"listen_tls"` // implicit TLS
	LegacyTLS bool     `toml:"legacy_tls"`
	// Connection caps: beyond the per-IP cap a new connection is refused
	// (IMAP "* BYE", POP3 "-ERR [SYS/TEMP]"); beyond the per-account cap
	// an IMAP login gets NO [LIMIT]. POP3 allows one session per account
	// anyway (RFC 1939 locking), so it has no per-account key.
	MaxConnectionsPerIP      int `toml:"max_connections_per_ip"`      // default 50
	MaxConnectionsPerAccount int `toml:"max_connections_per_account"` // default 20; IMAP and submission
}

// AuthConfig is [auth]: logins over IMAP, POP3 and submission.
type AuthConfig struct {
	PlaintextNetworks []string `toml:"plaintext_networks"` // as written
	MaxFailures       int      `toml:"max_failures"`       // per remote IP; 0 disables lockout
	Lockout           Duration `toml:"lockout"`

	// PlaintextPrefixes is PlaintextNetworks parsed.
	PlaintextPrefixes []netip.Prefix `toml:"-"`
}

// HTTPConfig is [http]: /metrics and /healthz.
type HTTPConfig struct {
	Listen string `toml:"listen"` // "" disables
}

// RelayConfig is [relay]: where submitted and pickup_out mail goes.
type RelayConfig struct {
	Mode             string   `toml:"mode"` // oauth2 | connector | smarthost
	Host             string   `toml:"host"` // host:port
	TLS              string   `toml:"tls"`  // starttls | implicit
	CAFile           string   `toml:"ca_file"`
	TenantID         string   `toml:"tenant_id"`
	ClientID         string   `toml:"client_id"`
	ClientSecretFile string   `toml:"client_secret_file"`
	TokenURL         string   `toml:"token_url"` // oauth2: filled in from TenantID when empty
	ClientCertFile   string   `toml:"client_cert_file"`
	ClientKeyFile    string   `toml:"client_key_file"`
	Username         string   `toml:"username"`
	PasswordFile     string   `toml:"password_file"`
	QueueLifetime    Duration `toml:"queue_lifetime"`
	RetryInitial     Duration `toml:"retry_initial"`
	MaxConnections   int      `toml:"max_connections"`
}

// Relay modes and TLS modes.
const (
	RelayOAuth2    = "oauth2"
	RelayConnector = "connector"
	RelaySmarthost = "smarthost"

	RelayStartTLS = "starttls"
	RelayImplicit = "implicit"
)

// PickupOutConfig is one [[pickup_out]]: a folder whose files are sent.
type PickupOutConfig struct {
	Dir     string `toml:"dir"`
	Account string `toml:"account"` // sends as this account
	After   string `toml:"after"`   // delete | move (into Dir/sent/); default delete
}

// Account is one [[account]].
type Account struct {
	Name         string        `toml:"name"`          // login for IMAP, POP3 and submission
	PasswordHash string        `toml:"password_hash"` // bcrypt or argon2id
	Addresses    []string      `toml:"addresses"`     // "local@domain", or "@domain" for a catch-all
	Retention    Duration      `toml:"retention"`     // 0: keep forever
	Quota        Size          `toml:"quota"`         // 0: no quota
	SendAs       []string      `toml:"send_as"`       // envelope senders for outbound mail
	RelayAs      string        `toml:"relay_as"`      // oauth2 mailbox; default SendAs[0]
	Pickup       *PickupConfig `toml:"pickup"`        // nil: no drop folder
}

// PickupConfig is [account.pickup]: each message is also (or only) written
// as a file.
type PickupConfig struct {
	Dir         string `toml:"dir"`
	Format      string `toml:"format"`       // eml | maildir | iis
	Keep        bool   `toml:"keep"`         // also keep in the mailbox; default true
	LineEndings string `toml:"line_endings"` // crlf | lf
	FileMode    string `toml:"file_mode"`    // octal permissions, default "0640"
}

// Perm returns FileMode as permission bits, 0640 when it is empty or not
// valid octal (Load rejects the latter).
func (p *PickupConfig) Perm() fs.FileMode {
	if m, ok := parseFileMode(p.FileMode); ok {
		return m
	}
	return 0o640
}

func parseFileMode(s string) (fs.FileMode, bool) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
	if t == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(t, 8, 32)
	if err != nil || n > 0o777 {
		return 0, false
	}
	return fs.FileMode(n), true
}

// Pickup formats and line endings.
const (
	FormatEML     = "eml"
	FormatMaildir = "maildir"
	FormatIIS     = "iis"

	LineEndingsCRLF = "crlf"
	LineEndingsLF   = "lf"
)

// Defaults that apply where the file leaves a key out. defaults() is the
// one place they are set.
const (
	DefaultDataDir        = "/var/lib/maildock"
	DefaultMaxMessageSize = 50 * MiB
	DefaultFileMode       = "0640"
	defaultTokenURL       = "https://login.microsoftonline.com/%s/oauth2/v2.0/token"
)

// defaults returns a Config with every default set, for the file to
// override. Listeners are on loopback unless the file says otherwise.
func defaults() *Config {
	host, err := os.Hostname()
	if err != nil {
		host = ""
	}
	return &Config{
		Hostname: host,
		DataDir:  DefaultDataDir,
		Log:      LogConfig{Level: "info", Format: "text"},
		SMTP: SMTPConfig{
			Listen:              []string{"127.0.0.1:25"},
			ListenTLS:           []string{},
			MaxMessageSize:      DefaultMaxMessageSize,
			MaxRecipients:       100,
			AllowedNetworks:     []string{},
			MaxConnections:      500,
			MaxConnectionsPerIP: 64,
			MaxErrors:           20,
		},
		IMAP: ListenerConfig{Listen: []string{"127.0.0.1:143"}, ListenTLS: []string{"127.0.0.1:993"},
			MaxConnectionsPerIP: 50, MaxConnectionsPerAccount: 20},
		POP3: ListenerConfig{Listen: []string{"127.0.0.1:110"}, ListenTLS: []string{"127.0.0.1:995"},
			MaxConnectionsPerIP: 50},
		Submission: ListenerConfig{Listen: []string{}, ListenTLS: []string{},
			MaxConnectionsPerIP: 50, MaxConnectionsPerAccount: 20},
		Auth: AuthConfig{
			PlaintextNetworks: []string{"127.0.0.0/8", "::1/128"},
			MaxFailures:       10,
			Lockout:           Duration(15 * time.Minute),
		},
		HTTP: HTTPConfig{Listen: "127.0.0.1:8025"},
		Relay: RelayConfig{
			Mode:           RelayOAuth2,
			Host:           "smtp.office365.com:587",
			TLS:            RelayStartTLS,
			QueueLifetime:  Duration(2 * day),
			RetryInitial:   Duration(time.Minute),
			MaxConnections: 4,
		},
	}
}

// fillDefaults sets the defaults of repeated tables and of values derived
// from others, for the keys the file (indexed by ix; nil: none) leaves out.
func fillDefaults(c *Config, ix *docIndex) {
	for i := range c.Accounts {
		a := &c.Accounts[i]
		if a.RelayAs == "" && !ix.has(accountPath(i, "relay_as")) && len(a.SendAs) > 0 {
			a.RelayAs = a.SendAs[0]
		}
		if p := a.Pickup; p != nil {
			base := accountPath(i, "pickup")
			if !ix.has(base + ".format") {
				p.Format = FormatEML
			}
			if !ix.has(base + ".keep") {
				p.Keep = true
			}
			if !ix.has(base + ".line_endings") {
				p.LineEndings = LineEndingsCRLF
			}
			if !ix.has(base + ".file_mode") {
				p.FileMode = DefaultFileMode
			}
		}
	}
	for i := range c.PickupOut {
		if p := &c.PickupOut[i]; !ix.has(pickupOutPath(i, "after")) {
			p.After = "delete"
		}
	}
	if c.Relay.Mode == RelayOAuth2 && c.Relay.TokenURL == "" && c.Relay.TenantID != "" && !ix.has("relay.token_url") {
		c.Relay.TokenURL = fmt.Sprintf(defaultTokenURL, c.Relay.TenantID)
	}
}

func accountPath(i int, key string) string {
	return joinPath("account["+strconv.Itoa(i)+"]", key)
}

func pickupOutPath(i int, key string) string {
	return joinPath("pickup_out["+strconv.Itoa(i)+"]", key)
}

// devPasswordHash is bcrypt("app"), the password of the development
// default's account.
const devPasswordHash = "$2a$10$tOzAWrTYil79TdB8KXJCsOlF.u0ErAZx13LEUMH34Vc3gipXRP9Mi"

// Development returns the embedded development default that `maildock
// serve` runs without --config: loopback only on unprivileged ports, data
// in ./maildock-data, account "app" (password "app") receiving everything
// for @app.localhost, also written to ./maildock-data/drop/app, and a
// self-signed certificate. Each call returns a new Config.
func Development() *Config {
	c := defaults()
	c.Hostname = "localhost"
	c.DataDir = "./maildock-data"
	c.SMTP.Listen = []string{"127.0.0.1:2525"}
	c.IMAP.Listen, c.IMAP.ListenTLS = []string{"127.0.0.1:1143"}, []string{"127.0.0.1:1993"}
	c.POP3.Listen, c.POP3.ListenTLS = []string{"127.0.0.1:1110"}, []string{"127.0.0.1:1995"}
	c.HTTP.Listen = "127.0.0.1:8025"
	c.Accounts = []Account{{
		Name:         "app",
		PasswordHash: devPasswordHash,
		Addresses:    []string{"@app.localhost"},
		Pickup:       &PickupConfig{Dir: "./maildock-data/drop/app"},
	}}
	fillDefaults(c, nil)
	// Validation fills in the parsed fields; it finds no problem
	// (TestDevelopment makes sure).
	(&validator{}).config(c)
	return c
}

// LoadOptions changes what Load and Parse check.
type LoadOptions struct {
	// SkipFileChecks skips reading the files the config names
	// (certificates, keys, CA and secret files); for checking a config
	// on a machine other than the server.
	SkipFileChecks bool
}

// Load reads the config file at path, applies the defaults and validates
// it. The error is a Problems listing everything wrong with the file.
func Load(path string) (*Config, error) {
	return LoadWithOptions(path, LoadOptions{})
}

// LoadWithOptions is Load with options.
func LoadWithOptions(path string, opts LoadOptions) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return nil, Problems{{File: path, Msg: "cannot read the config file: " + msg}}
	}
	return ParseWithOptions(data, path, opts)
}

// Parse parses data as the config file filename (used in problems only),
// applies the defaults and validates it.
func Parse(data []byte, filename string) (*Config, error) {
	return ParseWithOptions(data, filename, LoadOptions{})
}

// maxDecodeErrors bounds the decode-skip-retry loop in ParseWithOptions.
const maxDecodeErrors = 50

// ParseWithOptions is Parse with options.
func ParseWithOptions(data []byte, filename string, opts LoadOptions) (*Config, error) {
	// Notepad on Windows likes to start files with a byte order mark.
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	ix, perr := indexDocument(data)
	if perr != nil {
		perr.File = filename
		return nil, Problems{*perr}
	}
	v := &validator{file: filename, ix: ix, skipFiles: opts.SkipFileChecks, bad: map[string]bool{}}

	// go-toml stops at the first value of the wrong type. To report
	// them all, blank out the offending key/value (keeping the line
	// breaks, so lines stay right) and decode again.
	doc := bytes.Clone(data)
	v.checkKinds(doc)
	var c *Config
	for {
		c = defaults()
		dec := toml.NewDecoder(bytes.NewReader(doc))
		dec.DisallowUnknownFields()
		err := dec.Decode(c)
		if err == nil {
			break
		}
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			for i := range strict.Errors {
				v.unknownKey(&strict.Errors[i])
			}
			break
		}
		var de *toml.DecodeError
		if !errors.As(err, &de) {
			v.addLine(0, "%v", err) // not expected from go-toml
			return nil, v.result()
		}
		line, col := de.Position()
		v.decodeError(de)
		e, ok := ix.exprAt(line, col)
		if !ok || len(v.probs) >= maxDecodeErrors {
			// A table header is wrong: what follows cannot be
			// decoded into the right place, so stop here.
			return nil, v.result()
		}
		v.blank(doc, e)
	}
	fillDefaults(c, ix)
	v.config(c)
	if err := v.result(); err != nil {
		return nil, err
	}
	return c, nil
}

// blank turns the expression e of doc into spaces, keeping its line
// breaks, and marks its path as reported.
func (v *validator) blank(doc []byte, e exprSpan) {
	v.bad[e.path] = true
	for i := e.start; i < e.end; i++ {
		if doc[i] != '\n' {
			doc[i] = ' '
		}
	}
}

// checkKinds checks the kind of every value whose key Config knows before
// go-toml decodes it: go-toml stops at the first mismatch, places some at
// line 1 (arrays in arrays), and reads a bare number as a Duration in
// nanoseconds. Each mismatch is reported at its line and its expression
// blanked out of doc. It also reports [account] and [pickup_out] written
// with single brackets.
func (v *validator) checkKinds(doc []byte) {
	paths := make([]string, 0, len(v.ix.keys))
	for p := range v.ix.keys {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		kp := v.ix.keys[path]
		if kp.kind == unstable.Table || kp.kind == unstable.ArrayTable {
			if (path == "account" || path == "pickup_out") && kp.kind == unstable.Table {
				v.addLine(kp.line, "[%s] must be [[%s]], with double brackets: each is one of a list", path, path)
			}
			continue // headers: go-toml reports what is wrong with them
		}
		t := typeAtPath(path)
		if t == nil || kindFits(t, kp.kind) {
			continue
		}
		name := indexRE.ReplaceAllString(path, "")
		switch {
		case t == durationType && kp.kind == unstable.Integer:
			v.addLine(kp.line, "%s: write the duration as a string with a unit, e.g. \"15m\" or \"2d\"", name)
		case strings.HasSuffix(path, "]"):
			v.addLine(kp.line, "%s: want %s, not one with a TOML %s in it", name, describeType(typeAtPath(parentPath(path))), kindName(kp.kind))
		default:
			v.addLine(kp.line, "%s: want %s, not a TOML %s", name, describeType(t), kindName(kp.kind))
		}
		if e, ok := v.ix.exprAtOffset(kp.offset); ok && !v.bad[e.path] {
			v.blank(doc, e)
		}
	}
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// kindFits reports whether a TOML value of kind k can decode into t.
func kindFits(t reflect.Type, k unstable.Kind) bool {
	switch t {
	case sizeType:
		return k == unstable.String || k == unstable.Integer
	case durationType:
		return k == unstable.String
	}
	switch t.Kind() {
	case reflect.String:
		return k == unstable.String
	case reflect.Bool:
		return k == unstable.Bool
	case reflect.Int, reflect.Int64:
		return k == unstable.Integer
	case reflect.Slice:
		return k == unstable.Array
	case reflect.Struct, reflect.Pointer:
		return k == unstable.InlineTable
	}
	return true // not a type of Config; let go-toml say
}

func kindName(k unstable.Kind) string {
	switch k {
	case unstable.InlineTable:
		return "inline table"
	case unstable.LocalDate:
		return "date"
	case unstable.LocalTime:
		return "time"
	case unstable.LocalDateTime, unstable.DateTime:
		return "date-time"
	}
	return strings.ToLower(k.String())
}

// typeAtPath returns the Go type of Config at an index path such as
// "account[1].addresses[0]", or nil when Config has no such key.
func typeAtPath(path string) reflect.Type {
	t := reflect.TypeFor[Config]()
	for _, part := range strings.Split(path, ".") {
		name, idx, _ := strings.Cut(part, "[")
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		f, ok := fieldByTag(t, name)
		if !ok {
			return nil
		}
		t = f.Type
		for ; idx != ""; _, idx, _ = strings.Cut(idx, "[") {
			if t.Kind() != reflect.Slice {
				return nil
			}
			t = t.Elem()
		}
	}
	return t
}

// unknownKey reports a key or table that Config does not have, with the
// closest known key as a hint.
func (v *validator) unknownKey(e *toml.DecodeError) {
	line, _ := e.Position()
	key := []string(e.Key())
	if len(key) == 0 {
		v.addLine(line, "%s", strings.TrimPrefix(e.Error(), "toml: "))
		return
	}
	name := strings.Join(key, ".")
	known := fieldNames(typeAt(key[:len(key)-1]))
	what := "key"
	if strings.Contains(e.Error(), "table") {
		what = "table"
	}
	hint := ""
	if s := closest(key[len(key)-1], known); s != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", joinPath(strings.Join(key[:len(key)-1], "."), s))
		// A misspelt required key is reported once, here, and not
		// again as missing.
		if e, ok := v.ix.exprAt(e.Position()); ok {
			if meant := joinPath(parentPath(e.path), s); !v.ix.has(meant) {
				v.bad[meant] = true
			}
		}
	} else if len(known) > 0 {
		where := "at the top level"
		if len(key) > 1 {
			where = "in [" + strings.Join(key[:len(key)-1], ".") + "]"
		}
		hint = fmt.Sprintf("; known keys %s: %s", where, strings.Join(known, ", "))
	}
	v.addLine(line, "unknown %s %q%s", what, name, hint)
}

// decodeError reports a value go-toml could not decode, in terms of the
// key and what it wants.
func (v *validator) decodeError(e *toml.DecodeError) {
	line, _ := e.Position()
	msg := strings.TrimPrefix(e.Error(), "toml: ")
	key := []string(e.Key())
	if len(key) == 0 {
		v.addLine(line, "%s", msg)
		return
	}
	name := strings.Join(key, ".")
	if got, ok := strings.CutPrefix(msg, "cannot decode TOML "); ok {
		got, _, _ = strings.Cut(got, " into ")
		if want := describeType(typeAt(key)); want != "" {
			v.addLine(line, "%s: want %s, not a TOML %s", name, want, got)
			return
		}
	}
	v.addLine(line, "%s: %s", name, msg)
}

var (
	sizeType     = reflect.TypeFor[Size]()
	durationType = reflect.TypeFor[Duration]()
)

// describeType says in words what a value of Config's type t looks like.
func describeType(t reflect.Type) string {
	if t == nil {
		return ""
	}
	switch t {
	case sizeType:
		return `a size such as "50MiB" or a number of bytes`
	case durationType:
		return `a duration such as "15m" or "30d"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Pointer, reflect.Struct:
		return "a table"
	case reflect.Slice:
		switch t.Elem().Kind() {
		case reflect.String:
			return `a list of strings, e.g. ["a", "b"]`
		case reflect.Struct:
			return "[[tables]]"
		}
	}
	return ""
}

// typeAt returns the Go type of Config at the TOML key path, or nil.
// Elements of slices are stepped into implicitly.
func typeAt(key []string) reflect.Type {
	t := reflect.TypeFor[Config]()
	for _, part := range key {
		t = elemType(t)
		if t.Kind() != reflect.Struct {
			return nil
		}
		f, ok := fieldByTag(t, part)
		if !ok {
			return nil
		}
		t = f.Type
	}
	return t
}

func elemType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || (t.Kind() == reflect.Slice && elemStruct(t)) {
		t = t.Elem()
	}
	return t
}

func elemStruct(t reflect.Type) bool {
	e := t.Elem()
	for e.Kind() == reflect.Pointer {
		e = e.Elem()
	}
	return e.Kind() == reflect.Struct
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag := f.Tag.Get("toml"); tag == name && tag != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// fieldNames lists the keys a table of type t may have.
func fieldNames(t reflect.Type) []string {
	if t == nil {
		return nil
	}
	t = elemType(t)
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("toml"); tag != "" && tag != "-" {
			names = append(names, tag)
		}
	}
	return names
}

// closest returns the candidate nearest to s if it is close enough to be
// a likely typo, or "".
func closest(s string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), c)
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > 2 && bestDist*3 > len(best) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
