package configs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// validator collects every problem of one config.
type validator struct {
	file      string
	ix        *docIndex // nil for configs built in code
	skipFiles bool
	bad       map[string]bool // paths whose value could not be decoded
	probs     Problems
}

// add reports a problem with the key at path (see docIndex for the form),
// at that key's line or, when the file leaves the key out, at the line of
// its table. Problems with a value that could not be decoded, which is
// reported already, are dropped.
func (v *validator) add(path, format string, args ...any) {
	for p := path; p != ""; p = parentPath(p) {
		if v.bad[p] {
			return
		}
	}
	v.addLine(v.ix.lineOf(path), format, args...)
}

func (v *validator) addLine(line int, format string, args ...any) {
	v.probs = append(v.probs, Problem{File: v.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// result is nil or the sorted problems.
func (v *validator) result() error {
	if len(v.probs) == 0 {
		return nil
	}
	return v.probs.sorted()
}

// oneOf checks an enumeration; name is the key as the message shows it.
func (v *validator) oneOf(path, name, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	v.add(path, "%s = %q: want one of %s", name, got, strings.Join(allowed, " | "))
}

// config checks c, which decoding and fillDefaults produced, and fills in
// its parsed fields.
func (v *validator) config(c *Config) {
	v.hostname(c)
	if c.DataDir == "" {
		v.add("data_dir", "data_dir must not be empty (default %q)", DefaultDataDir)
	}
	v.oneOf("log.level", "log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", "log.format", c.Log.Format, "text", "json")
	v.tls(c.TLS)
	v.listeners(c)
	v.smtp(&c.SMTP)
	v.listener("imap", &c.IMAP, true)
	v.listener("pop3", &c.POP3, false)
	v.listener("submission", &c.Submission, true)
	v.auth(&c.Auth)
	v.relay(c)
	names := v.accounts(c.Accounts)
	v.pickupOut(c.PickupOut, names)
	v.dropDirs(c)
}

func (v *validator) hostname(c *Config) {
	if v.ix.has("hostname") || v.ix == nil {
		if c.Hostname == "" {
			v.add("hostname", "hostname must not be empty; leave it out to use the OS hostname")
		} else if err := checkHostname(c.Hostname); err != nil {
			v.add("hostname", "hostname %q: %v", c.Hostname, err)
		}
		return
	}
	switch {
	case c.Hostname == "":
		v.add("hostname", `hostname is not set and the OS hostname is unknown; set hostname = "mail.example.com"`)
	case checkHostname(c.Hostname) != nil:
		v.add("hostname", "hostname is not set and the OS hostname %q is not a valid DNS name; set hostname = \"mail.example.com\"", c.Hostname)
	}
}

func (v *validator) tls(t TLSConfig) {
	switch {
	case t.SelfSigned():
		return
	case t.CertFile == "" || t.KeyFile == "":
		path := "tls.cert_file" // the one that is set
		if t.CertFile == "" {
			path = "tls.key_file"
		}
		v.add(path, "tls: set both cert_file and key_file, or neither for a self-signed certificate")
	case !v.skipFiles:
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			v.add("tls.cert_file", "tls: cannot load the certificate and key: %v", err)
		}
	}
}

// listenKey is one configured listen key: its protocol name, path and
// addresses.
type listenKey struct {
	proto, path string
	addrs       []string
}

func (c *Config) listenKeys() []listenKey {
	keys := []listenKey{
		{"smtp", "smtp.listen", c.SMTP.Listen},
		{"smtps", "smtp.listen_tls", c.SMTP.ListenTLS},
		{"submission", "submission.listen", c.Submission.Listen},
		{"submissions", "submission.listen_tls", c.Submission.ListenTLS},
		{"imap", "imap.listen", c.IMAP.Listen},
		{"imaps", "imap.listen_tls", c.IMAP.ListenTLS},
		{"pop3", "pop3.listen", c.POP3.Listen},
		{"pop3s", "pop3.listen_tls", c.POP3.ListenTLS},
		{"http", "http.listen", nil},
	}
	if c.HTTP.Listen != "" {
		keys[len(keys)-1].addrs = []string{c.HTTP.Listen}
	}
	return keys
}

func (v *validator) listeners(c *Config) {
	type use struct{ path, name string }
	seen := map[string]use{}
	for _, k := range c.listenKeys() {
		for i, addr := range k.addrs {
			path := k.path
			if k.proto != "http" {
				path += "[" + strconv.Itoa(i) + "]"
			}
			port, err := checkListen(addr)
			if err != nil {
				v.add(path, "%s: %v", k.path, err)
				continue
			}
			if port == 0 {
				continue // a free port picked at start: never the same twice
			}
			norm := strings.ToLower(addr)
			if prev, ok := seen[norm]; ok {
				where := prev.name
				if l := v.ix.lineOf(prev.path); l > 0 {
					where += fmt.Sprintf(" (line %d)", l)
				}
				v.add(path, "%s: %q is already used by %s; each address can be listened on once", k.path, addr, where)
				continue
			}
			seen[norm] = use{path, k.path}
		}
	}
}

func (v *validator) smtp(s *SMTPConfig) {
	switch {
	case s.MaxMessageSize <= 0:
		v.add("smtp.max_message_size", "smtp.max_message_size must be positive (default %s)", DefaultMaxMessageSize)
	case s.MaxMessageSize > GiB:
		v.add("smtp.max_message_size", "smtp.max_message_size %s is more than the limit of 1GiB", s.MaxMessageSize)
	}
	if s.MaxRecipients < 1 {
		v.add("smtp.max_recipients", "smtp.max_recipients must be at least 1 (default 100)")
	}
	s.AllowedPrefixes = v.prefixes("smtp.allowed_networks", s.AllowedNetworks)
	for i, n := range s.ClientCertNames {
		// A leading "*." is allowed: the certificate may be a wildcard.
		if checkHostname(strings.TrimPrefix(n, "*.")) != nil {
			v.add(fmt.Sprintf("smtp.client_cert_names[%d]", i), "smtp.client_cert_names: %q is not a DNS name", n)
		}
	}
	switch {
	case s.ClientCAFile != "" && len(s.ClientCertNames) == 0:
		v.add("smtp.client_ca_file", "smtp.client_ca_file is set but smtp.client_cert_names is empty: set the names the certificate must carry")
	case s.ClientCAFile != "" && !v.skipFiles:
		if _, err := LoadCAFile(s.ClientCAFile); err != nil {
			v.add("smtp.client_ca_file", "smtp.client_ca_file: %v", err)
		}
	}
	v.atLeastOne("smtp.max_connections", s.MaxConnections, 500)
	v.atLeastOne("smtp.max_connections_per_ip", s.MaxConnectionsPerIP, 64)
	v.atLeastOne("smtp.max_errors", s.MaxErrors, 20)
}

func (v *validator) listener(name string, l *ListenerConfig, perAccount bool) {
	v.atLeastOne(name+".max_connections_per_ip", l.MaxConnectionsPerIP, 50)
	if perAccount {
		v.atLeastOne(name+".max_connections_per_account", l.MaxConnectionsPerAccount, 20)
	} else if l.MaxConnectionsPerAccount != 0 {
		v.add(name+".max_connections_per_account", "%s.max_connections_per_account: POP3 allows one session per account at a time (RFC 1939); remove the key", name)
	}
}

func (v *validator) atLeastOne(key string, n, def int) {
	if n < 1 {
		v.add(key, "%s must be at least 1 (default %d)", key, def)
	}
}

func (v *validator) auth(a *AuthConfig) {
	a.PlaintextPrefixes = v.prefixes("auth.plaintext_networks", a.PlaintextNetworks)
	if a.MaxFailures < 0 {
		v.add("auth.max_failures", "auth.max_failures must not be negative (0 disables the lockout)")
	}
	switch {
	case a.Lockout < 0:
		v.add("auth.lockout", "auth.lockout must not be negative")
	case a.Lockout == 0 && a.MaxFailures > 0:
		v.add("auth.lockout", "auth.lockout must be positive while auth.max_failures is set (set max_failures = 0 to disable the lockout)")
	}
}

// prefixes parses a list of CIDRs, reporting each bad one.
func (v *validator) prefixes(path string, list []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		p, err := parsePrefix(s)
		if err != nil {
			v.add(path+"["+strconv.Itoa(i)+"]", "%s: %v", path, err)
			continue
		}
		out = append(out, p)
	}
	return out
}

// parsePrefix parses a CIDR, or a bare address as a /32 or /128.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a network: want a CIDR such as \"10.0.0.0/8\" or \"2001:db8::/32\", or one address", s)
		}
		if m := p.Masked(); m != p {
			return netip.Prefix{}, fmt.Errorf("%q has bits set beyond the /%d; did you mean %q?", s, p.Bits(), m.String())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not a network: want a CIDR such as \"10.0.0.0/8\" or \"2001:db8::/32\", or one address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// checkListen checks a listen address and returns its port.
func checkListen(addr string) (int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("%q is not host:port (e.g. \"127.0.0.1:25\", \"[::1]:25\", or \":25\" for every address)", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || port == "" || port[0] < '0' || port[0] > '9' {
		return 0, fmt.Errorf("%q: the port must be a number from 0 to 65535", addr)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil && checkHostname(host) != nil {
			return 0, fmt.Errorf("%q: the host %q is neither an IP address nor a host name", addr, host)
		}
	}
	return n, nil
}

// relayInUse reports whether anything sends mail out through [relay].
func (c *Config) relayInUse() bool {
	return len(c.Submission.Listen)+len(c.Submission.ListenTLS)+len(c.PickupOut) > 0
}

func (v *validator) relay(c *Config) {
	r := &c.Relay
	v.oneOf("relay.mode", "relay.mode", r.Mode, RelayOAuth2, RelayConnector, RelaySmarthost)
	v.oneOf("relay.tls", "relay.tls", r.TLS, RelayStartTLS, RelayImplicit)
	if r.Host == "" {
		if c.relayInUse() {
			v.add("relay.host", "relay.host must not be empty: submission or pickup_out sends mail through it")
		}
	} else if port, err := checkListen(r.Host); err != nil || port == 0 || strings.HasPrefix(r.Host, ":") {
		v.add("relay.host", "relay.host = %q: want host:port, e.g. \"smtp.office365.com:587\"", r.Host)
	}
	if (r.Mode == RelayConnector || r.Mode == RelaySmarthost) && !v.ix.has("relay.host") && v.ix != nil {
		example := "smtp.example.com:587"
		if r.Mode == RelayConnector {
			example = "contoso-com.mail.protection.outlook.com:25"
		}
		v.add("relay.host", "relay.host must be set for mode %q (the default is Exchange Online's oauth2 host), e.g. %q", r.Mode, example)
	}
	if r.QueueLifetime <= 0 {
		v.add("relay.queue_lifetime", "relay.queue_lifetime must be positive (default 2d)")
	}
	switch {
	case r.RetryInitial <= 0:
		v.add("relay.retry_initial", "relay.retry_initial must be positive (default 1m)")
	case r.QueueLifetime > 0 && r.RetryInitial > r.QueueLifetime:
		v.add("relay.retry_initial", "relay.retry_initial %s is longer than relay.queue_lifetime %s: the first retry would never happen", r.RetryInitial, r.QueueLifetime)
	}
	if r.MaxConnections < 1 {
		v.add("relay.max_connections", "relay.max_connections must be at least 1 (default 4)")
	}
	if r.TokenURL != "" {
		if u, err := url.Parse(r.TokenURL); err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
			v.add("relay.token_url", "relay.token_url = %q: want an https:// URL", r.TokenURL)
		}
	}
	if (r.ClientCertFile == "") != (r.ClientKeyFile == "") {
		v.add("relay.client_cert_file", "relay: set both client_cert_file and client_key_file, or neither")
	} else if r.ClientCertFile != "" && !v.skipFiles {
		if _, err := tls.LoadX509KeyPair(r.ClientCertFile, r.ClientKeyFile); err != nil {
			v.add("relay.client_cert_file", "relay: cannot load the client certificate and key: %v", err)
		}
	}
	if r.CAFile != "" && !v.skipFiles {
		if pem, err := os.ReadFile(r.CAFile); err != nil {
			v.add("relay.ca_file", "relay.ca_file: %v", err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			v.add("relay.ca_file", "relay.ca_file %s: no PEM certificate in it", r.CAFile)
		}
	}
	if !c.relayInUse() {
		return // the rest only matters to something that sends
	}
	switch r.Mode {
	case RelayOAuth2:
		if r.TenantID == "" {
			v.add("relay.tenant_id", "relay.tenant_id is required for mode \"oauth2\" (the Entra tenant id)")
		}
		if r.ClientID == "" {
			v.add("relay.client_id", "relay.client_id is required for mode \"oauth2\" (the app registration's id)")
		}
		switch {
		case r.ClientSecretFile == "" && r.ClientCertFile == "":
			v.add("relay.client_secret_file", "relay: mode \"oauth2\" needs client_secret_file, or client_cert_file and client_key_file")
		case r.ClientSecretFile != "" && r.ClientCertFile != "":
			v.add("relay.client_secret_file", "relay: set client_secret_file or client_cert_file, not both")
		}
	case RelaySmarthost:
		if (r.Username == "") != (r.PasswordFile == "") {
			v.add("relay.username", "relay: set both username and password_file for AUTH, or neither")
		}
	}
	for _, f := range []struct{ path, name string }{
		{"relay.client_secret_file", r.ClientSecretFile},
		{"relay.password_file", r.PasswordFile},
	} {
		if f.name == "" || v.skipFiles {
			continue
		}
		b, err := os.ReadFile(f.name)
		switch {
		case err != nil:
			v.add(f.path, "%s: %v", f.path, err)
		case strings.TrimSpace(string(b)) == "":
			v.add(f.path, "%s %s is empty", f.path, f.name)
		}
	}
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

// accounts checks every [[account]] and returns the set of names.
func (v *validator) accounts(accts []Account) map[string]bool {
	if len(accts) == 0 {
		v.add("account", "no [[account]]: at least one is needed; the domains of the accounts' addresses are the domains maildock accepts mail for")
	}
	type owner struct {
		account    int
		path, addr string
	}
	names := map[string]bool{}
	nameAt := map[string]int{} // lowercased name -> account index
	addrAt := map[string]owner{}
	for i, a := range accts {
		at := func(key string) string { return accountPath(i, key) }
		label := fmt.Sprintf("account %q", a.Name)
		if a.Name == "" {
			label = fmt.Sprintf("account #%d", i+1)
		}
		if err := checkAccountName(a.Name); err != nil {
			v.add(at("name"), "%s: name %v", label, err)
		} else if j, dup := nameAt[strings.ToLower(a.Name)]; dup {
			v.add(at("name"), "account name %q is used twice (also at line %d); names must be unique, ignoring case", a.Name, v.ix.lineOf(accountPath(j, "name")))
		} else {
			nameAt[strings.ToLower(a.Name)] = i
		}
		names[a.Name] = true

		if err := checkPasswordHash(a.PasswordHash); err != nil {
			v.add(at("password_hash"), "%s: password_hash %v; use `maildock passwd` to make one", label, err)
		}

		if len(a.Addresses) == 0 {
			v.add(at("addresses"), "%s: addresses is required, e.g. [\"inbox@app1.example.com\"] or [\"@app1.example.com\"] for every address of the domain", label)
		}
		for k, addr := range a.Addresses {
			path := at("addresses") + "[" + strconv.Itoa(k) + "]"
			if _, _, err := parseAddress(addr, true); err != nil {
				v.add(path, "%s: address %v", label, err)
				continue
			}
			key := strings.ToLower(addr)
			prev, dup := addrAt[key]
			if !dup {
				addrAt[key] = owner{i, path, addr}
				continue
			}
			where := ""
			if prev.addr != addr {
				where = fmt.Sprintf(" as %q (addresses ignore case)", prev.addr)
			}
			if l := v.ix.lineOf(prev.path); l > 0 && l != v.ix.lineOf(path) {
				where += fmt.Sprintf(" (line %d)", l)
			}
			if prev.account == i {
				v.add(path, "%s: address %q is listed twice%s", label, addr, where)
			} else {
				v.add(path, "%s: address %q is already an address of account %q%s; an address belongs to one account", label, addr, accts[prev.account].Name, where)
			}
		}

		if a.Retention < 0 {
			v.add(at("retention"), "%s: retention must not be negative (leave it out to keep mail forever)", label)
		}
		if a.Quota < 0 {
			v.add(at("quota"), "%s: quota must not be negative (leave it out for no quota)", label)
		}
		for k, addr := range a.SendAs {
			if _, _, err := parseAddress(addr, false); err != nil {
				v.add(at("send_as")+"["+strconv.Itoa(k)+"]", "%s: send_as %v", label, err)
			}
		}
		if a.RelayAs != "" {
			if _, _, err := parseAddress(a.RelayAs, false); err != nil {
				v.add(at("relay_as"), "%s: relay_as %v", label, err)
			}
		}
		if p := a.Pickup; p != nil {
			base := at("pickup")
			if p.Dir == "" {
				v.add(base+".dir", "%s: pickup.dir is required: the folder the message files go to", label)
			}
			v.oneOf(base+".format", label+": pickup.format", p.Format, FormatEML, FormatMaildir, FormatIIS)
			v.oneOf(base+".line_endings", label+": pickup.line_endings", p.LineEndings, LineEndingsCRLF, LineEndingsLF)
			if _, ok := parseFileMode(p.FileMode); !ok {
				v.add(base+".file_mode", "%s: pickup.file_mode = %q: want octal permissions such as \"0640\"", label, p.FileMode)
			}
		}
	}
	return names
}

func (v *validator) pickupOut(list []PickupOutConfig, names map[string]bool) {
	for i, p := range list {
		if p.Dir == "" {
			v.add(pickupOutPath(i, "dir"), "pickup_out.dir is required: the folder to send files from")
		}
		switch {
		case p.Account == "":
			v.add(pickupOutPath(i, "account"), "pickup_out.account is required: the account the files are sent as")
		case !names[p.Account]:
			v.add(pickupOutPath(i, "account"), "pickup_out.account %q is not the name of an [[account]]", p.Account)
		}
		v.oneOf(pickupOutPath(i, "after"), "pickup_out.after", p.After, "delete", "move")
	}
}

// dropDirs checks that no folder is used by two drop folders or pickup_out
// entries: they would take each other's files.
func (v *validator) dropDirs(c *Config) {
	seen := map[string]string{} // cleaned dir -> path of first use
	check := func(path, dir string) {
		if dir == "" {
			return
		}
		d := filepath.Clean(dir)
		if prev, ok := seen[d]; ok {
			v.add(path, "folder %q is also used at line %d; each pickup and pickup_out folder needs its own", dir, v.ix.lineOf(prev))
			return
		}
		seen[d] = path
	}
	for i, a := range c.Accounts {
		if a.Pickup != nil {
			check(accountPath(i, "pickup.dir"), a.Pickup.Dir)
		}
	}
	for i, p := range c.PickupOut {
		check(pickupOutPath(i, "dir"), p.Dir)
	}
}

func checkAccountName(name string) error {
	if name == "" {
		return errors.New("is required")
	}
	if name == "." || name == ".." {
		return fmt.Errorf("%q is not allowed", name)
	}
	if !utf8.ValidString(name) {
		return errors.New("is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' || r == '\\' {
			return fmt.Errorf("%q must not contain spaces, control characters, / or \\", name)
		}
	}
	return nil
}

var (
	bcryptRE   = regexp.MustCompile(`^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$`)
	argon2idRE = regexp.MustCompile(`^\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$`)
)

// checkPasswordHash accepts bcrypt and argon2id hashes. Its errors never
// repeat the value: it may be a password pasted in the wrong place.
func checkPasswordHash(h string) error {
	switch {
	case h == "":
		return errors.New("is required")
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		if _, err := bcrypt.Cost([]byte(h)); err != nil || !bcryptRE.MatchString(h) {
			return errors.New("is not a well-formed bcrypt hash")
		}
		return nil
	case strings.HasPrefix(h, "$argon2id$"):
		if !argon2idRE.MatchString(h) {
			return errors.New("is not a well-formed argon2id hash")
		}
		return nil
	default:
		return errors.New("must be a bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$) hash, not a password")
	}
}

// parseAddress checks an account address, "local@domain", or, when
// catchAll is allowed, "@domain".
func parseAddress(s string, catchAll bool) (local, domain string, err error) {
	want := `want "local@domain"`
	if catchAll {
		want += `, or "@domain" for every address of the domain`
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", "", fmt.Errorf("%q is not an address: %s", s, want)
	}
	local, domain = s[:at], s[at+1:]
	if local == "" && !catchAll {
		return "", "", fmt.Errorf("%q is not a full address: %s", s, want)
	}
	if local != "" {
		if err := checkLocalPart(local); err != nil {
			return "", "", fmt.Errorf("%q: %v", s, err)
		}
	}
	if err := checkDomain(domain); err != nil {
		return "", "", fmt.Errorf("%q: the domain %v", s, err)
	}
	return local, domain, nil
}

func checkLocalPart(l string) error {
	if !utf8.ValidString(l) {
		return errors.New("the local part is not valid UTF-8")
	}
	if len(l) > 64 {
		return errors.New("the local part is longer than 64 bytes")
	}
	if l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return errors.New("the local part must not start or end with a dot or have two dots in a row")
	}
	for _, r := range l {
		switch {
		case r == '"':
			return errors.New("quoted local parts are not supported")
		case r < 0x80 && (isASCIIAlnum(r) || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r)):
		case r >= 0x80 && unicode.IsPrint(r) && !unicode.IsSpace(r):
		default:
			return fmt.Errorf("the local part must not contain %q", r)
		}
	}
	return nil
}

// checkDomain checks the syntax of a mail domain: dot-separated labels of
// letters (any script), digits and inner hyphens.
func checkDomain(d string) error {
	switch {
	case d == "":
		return errors.New("is missing")
	case !utf8.ValidString(d):
		return errors.New("is not valid UTF-8")
	case strings.HasPrefix(d, "["):
		return errors.New("must be a name: address literals such as [192.0.2.1] are not supported")
	case strings.HasSuffix(d, "."):
		return errors.New("must not end with a dot")
	case len(d) > 253:
		return errors.New("is longer than 253 bytes")
	}
	return checkLabels(d, false)
}

// checkHostname checks an ASCII DNS host name.
func checkHostname(h string) error {
	switch {
	case h == "":
		return errors.New("is empty")
	case strings.HasSuffix(h, "."):
		return errors.New("must not end with a dot")
	case len(h) > 253:
		return errors.New("is longer than 253 bytes")
	}
	return checkLabels(h, true)
}

func checkLabels(name string, asciiOnly bool) error {
	labels := strings.Split(name, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return errors.New("has an empty label (two dots in a row?)")
		case len(l) > 63:
			return errors.New("has a label longer than 63 bytes")
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Errorf("has a label %q that starts or ends with a hyphen", l)
		}
		for _, r := range l {
			ok := r == '-' || r < 0x80 && isASCIIAlnum(r) ||
				!asciiOnly && r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r))
			if !ok {
				return fmt.Errorf("must not contain %q", r)
			}
		}
	}
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return errors.New("looks like an IP address; use a name")
	}
	return nil
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// LoadCAFile reads PEM certificates into a pool.
func LoadCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
