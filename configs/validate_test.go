package configs

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestProblems checks each validation rule: the document must produce
// exactly the problems listed, each "LINE: text" with text a substring of
// the message and LINE the exact line (0: unknown).
func TestProblems(t *testing.T) {
	acct := func(name string, extra ...string) string {
		return lines(append([]string{
			`[[account]]`,
			`name = "` + name + `"`,
			`password_hash = "` + testHash + `"`,
		}, extra...)...)
	}
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		// Syntax and unknown keys.
		{"syntax error", lines(`hostname = "mx.example.com"`, `data_dir = `, ``) + oneAccount,
			[]string{"2: not valid TOML"}},
		{"nested too deep", lines(`hostname = "mx.example.com"`, `x = [[[[[[[[[[1]]]]]]]]]]`) + oneAccount,
			[]string{"2: values nested more than 8 deep"}},
		{"unknown key", lines(`hostname = "mx.example.com"`, `bogus_key = 1`) + oneAccount,
			[]string{`2: unknown key "bogus_key"; known keys at the top level: hostname, data_dir`}},
		{"misspelt key in [smtp]", lines(`[smtp]`, `listn = ["0.0.0.0:25"]`) + oneAccount,
			[]string{`2: unknown key "smtp.listn" (did you mean "smtp.listen"?)`}},
		{"misspelt key in [[account]]", acct("app1", `adresses = ["inbox@app1.example.com"]`),
			[]string{`4: unknown key "account.adresses" (did you mean "account.addresses"?)`}},
		{"misspelt key in second [[account]]", oneAccount + acct("app2", `addresses = ["@app2.example.com"]`, `retension = "30d"`),
			[]string{`9: unknown key "account.retension" (did you mean "account.retention"?)`}},
		{"misspelt key in [account.pickup]", oneAccount + lines(`[account.pickup]`, `dir = "/srv/drop"`, `formt = "eml"`),
			[]string{`7: unknown key "account.pickup.formt" (did you mean "account.pickup.format"?)`}},
		{"unknown table", lines(`[smpt]`, `listen = []`) + oneAccount,
			[]string{`1: unknown table "smpt" (did you mean "smtp"?)`}},
		{"dotted unknown key", lines(`smtp.lisen = []`) + oneAccount,
			[]string{`1: unknown key "smtp.lisen" (did you mean "smtp.listen"?)`}},

		// Types.
		{"string for integer", lines(`[smtp]`, `max_recipients = "ten"`) + oneAccount,
			[]string{`2: smtp.max_recipients: want an integer, not a TOML string`}},
		{"string for list", lines(`[smtp]`, `listen = "0.0.0.0:25"`) + oneAccount,
			[]string{`2: smtp.listen: want a list of strings`}},
		{"string for bool", lines(`[smtp]`, `require_tls = "yes"`) + oneAccount,
			[]string{`2: smtp.require_tls: want true or false`}},
		{"bad duration", lines(`[auth]`, `lockout = "a while"`) + oneAccount,
			[]string{`2: auth.lockout: invalid duration "a while"`}},
		{"duration as bare number", lines(`[auth]`, `lockout = 900`) + oneAccount,
			[]string{`2: auth.lockout: write the duration as a string with a unit`}},
		{"wrong addresses type is not also missing", acct("app1", `addresses = "inbox@app1.example.com"`),
			[]string{`4: account.addresses: want a list of strings`}},
		{"table where a list of tables belongs", lines(`[account]`, `name = "app1"`, `password_hash = "`+testHash+`"`, `addresses = ["a@x.example.com"]`),
			[]string{`1: [account] must be [[account]], with double brackets`}},
		{"two single-bracket accounts", lines(`[account]`, `name = "app1"`, `[account]`, `name = "app2"`),
			[]string{`1: [account] must be [[account]]`, `3: account: table account already exists`}},
		{"float for duration", lines(`[relay]`, `queue_lifetime = 1.5`) + oneAccount,
			[]string{`2: relay.queue_lifetime: want a duration such as "15m" or "30d", not a TOML float`}},
		{"bare number for retention", acct("app1", `addresses = ["a@x.example.com"]`, `retention = 30`),
			[]string{`5: account.retention: write the duration as a string with a unit`}},
		{"date for size in inline table", lines(`smtp = { max_message_size = 2024-01-01, max_recipients = "x" }`) + oneAccount,
			[]string{`1: smtp.max_message_size: want a size such as "50MiB" or a number of bytes, not a TOML date`, `1: smtp.max_recipients: want an integer, not a TOML string`}},
		{"array in a list of strings", lines(`[auth]`, `plaintext_networks = [`, `  "127.0.0.0/8",`, `  ["10.0.0.0/8"],`, `]`) + oneAccount,
			[]string{`4: auth.plaintext_networks: want a list of strings, e.g. ["a", "b"], not one with a TOML array in it`}},
		{"every type error at once", lines(`hostname = 5`, `data_dir = true`, `[log]`, `level = 1`, `[smtp]`, `listen = [25]`, `max_recipients = 1.5`) + oneAccount,
			[]string{
				`1: hostname: want a string, not a TOML integer`,
				`2: data_dir: want a string, not a TOML bool`,
				`4: log.level: want a string, not a TOML integer`,
				`6: smtp.listen: want a list of strings, e.g. ["a", "b"], not one with a TOML integer in it`,
				`7: smtp.max_recipients: want an integer, not a TOML float`,
			}},
		{"table for a string", lines(`hostname = { name = "x" }`) + oneAccount,
			[]string{`1: hostname: want a string, not a TOML inline table`}},
		{"key defined twice", lines(`[log]`, `level = "info"`, `level = "debug"`) + oneAccount,
			[]string{`3: level: key level is already defined`}},
		{"table defined twice", lines(`[log]`, `[log]`) + oneAccount,
			[]string{`2: log: table log already exists`}},

		// Top-level values.
		{"hostname invalid", lines(`hostname = "mx_1.example.com"`) + oneAccount,
			[]string{`1: hostname "mx_1.example.com": must not contain '_'`}},
		{"hostname empty", lines(`hostname = ""`) + oneAccount,
			[]string{`1: hostname must not be empty`}},
		{"hostname trailing dot", lines(`hostname = "mx.example.com."`) + oneAccount,
			[]string{`1: hostname "mx.example.com.": must not end with a dot`}},
		{"data_dir empty", lines(`data_dir = ""`) + oneAccount,
			[]string{`1: data_dir must not be empty`}},
		{"log level and format", lines(`[log]`, `level = "verbose"`, `format = "xml"`) + oneAccount,
			[]string{`2: log.level = "verbose": want one of debug | info | warn | error`, `3: log.format = "xml": want one of text | json`}},

		// TLS.
		{"tls cert without key", lines(`[tls]`, `cert_file = "/x/cert.pem"`) + oneAccount,
			[]string{`2: tls: set both cert_file and key_file`}},
		{"tls key without cert", lines(`[tls]`, `key_file = "/x/key.pem"`) + oneAccount,
			[]string{`2: tls: set both cert_file and key_file`}},
		{"tls unreadable", lines(`[tls]`, `cert_file = "/nonexistent/cert.pem"`, `key_file = "/nonexistent/key.pem"`) + oneAccount,
			[]string{`2: tls: cannot load the certificate and key: open /nonexistent/cert.pem: no such file or directory`}},

		// Listeners.
		{"duplicate listener across keys", lines(`[smtp]`, `listen = ["127.0.0.1:1143"]`, `[imap]`, `listen = []`, `listen_tls = ["127.0.0.1:1143"]`) + oneAccount,
			[]string{`5: imap.listen_tls: "127.0.0.1:1143" is already used by smtp.listen (line 2)`}},
		{"duplicate listener in one list", lines(`[pop3]`, `listen = [`, `  "127.0.0.1:110",`, `  "127.0.0.1:110",`, `]`) + oneAccount,
			[]string{`4: pop3.listen: "127.0.0.1:110" is already used by pop3.listen (line 3)`}},
		{"duplicate listener with a default", lines(`[http]`, `listen = "127.0.0.1:25"`) + oneAccount,
			[]string{`2: http.listen: "127.0.0.1:25" is already used by smtp.listen;`}},
		{"duplicate listener ignores case", lines(`[smtp]`, `listen = ["LOCALHOST:2525", "localhost:2525"]`) + oneAccount,
			[]string{`2: smtp.listen: "localhost:2525" is already used by smtp.listen`}},
		{"listen not host:port", lines(`[smtp]`, `listen = ["0.0.0.0"]`) + oneAccount,
			[]string{`2: smtp.listen: "0.0.0.0" is not host:port`}},
		{"listen bad port", lines(`[smtp]`, `listen = ["0.0.0.0:99999", "0.0.0.0:smtp"]`) + oneAccount,
			[]string{`2: smtp.listen: "0.0.0.0:99999": the port must be a number`, `2: smtp.listen: "0.0.0.0:smtp": the port must be a number`}},
		{"listen bad host", lines(`[imap]`, `listen = ["bad host:143"]`) + oneAccount,
			[]string{`2: imap.listen: "bad host:143": the host "bad host" is neither`}},

		// [smtp] and [auth] values.
		{"bad CIDR", lines(`[smtp]`, `allowed_networks = [`, `  "10.0.0.0/8",`, `  "10.0.0.0/33",`, `  "192.0.2.1",`, `]`) + oneAccount,
			[]string{`4: smtp.allowed_networks: "10.0.0.0/33" is not a network`}},
		{"CIDR with host bits", lines(`[smtp]`, `allowed_networks = ["10.1.2.3/8"]`) + oneAccount,
			[]string{`2: smtp.allowed_networks: "10.1.2.3/8" has bits set beyond the /8; did you mean "10.0.0.0/8"?`}},
		{"bad plaintext network", lines(`[auth]`, `plaintext_networks = ["127.0.0.0/8", "localhost"]`) + oneAccount,
			[]string{`2: auth.plaintext_networks: "localhost" is not a network`}},
		{"max_message_size zero", lines(`[smtp]`, `max_message_size = 0`) + oneAccount,
			[]string{`2: smtp.max_message_size must be positive`}},
		{"max_message_size too big", lines(`[smtp]`, `max_message_size = "2GiB"`) + oneAccount,
			[]string{`2: smtp.max_message_size 2GiB is more than the limit of 1GiB`}},
		{"max_recipients zero", lines(`[smtp]`, `max_recipients = 0`) + oneAccount,
			[]string{`2: smtp.max_recipients must be at least 1`}},
		{"connection caps zero", lines(`[smtp]`, `max_connections = 0`, `max_connections_per_ip = -1`, `max_errors = 0`, `[imap]`, `max_connections_per_account = 0`, `[pop3]`, `max_connections_per_ip = 0`) + oneAccount,
			[]string{`2: smtp.max_connections must be at least 1 (default 500)`, `3: smtp.max_connections_per_ip must be at least 1 (default 64)`,
				`4: smtp.max_errors must be at least 1 (default 20)`, `6: imap.max_connections_per_account must be at least 1 (default 20)`,
				`8: pop3.max_connections_per_ip must be at least 1 (default 50)`}},
		{"client cert names", lines(`[smtp]`, `client_cert_names = ["mail.protection.outlook.com", "*.outlook.com", "bad name"]`, `client_ca_file = "/nonexistent/ca.pem"`) + oneAccount,
			[]string{`2: smtp.client_cert_names: "bad name" is not a DNS name`, `3: smtp.client_ca_file: open /nonexistent/ca.pem`}},
		{"client CA without names", lines(`[smtp]`, `client_ca_file = "/nonexistent/ca.pem"`) + oneAccount,
			[]string{`2: smtp.client_ca_file is set but smtp.client_cert_names is empty`}},
		{"pop3 per-account cap", lines(`[pop3]`, `max_connections_per_account = 2`) + oneAccount,
			[]string{`2: pop3.max_connections_per_account: POP3 allows one session per account at a time`}},
		{"max_failures negative", lines(`[auth]`, `max_failures = -1`) + oneAccount,
			[]string{`2: auth.max_failures must not be negative`}},
		{"lockout zero with failures", lines(`[auth]`, `lockout = "0s"`) + oneAccount,
			[]string{`2: auth.lockout must be positive while auth.max_failures is set`}},

		// Accounts.
		{"no account", lines(`hostname = "mx.example.com"`),
			[]string{`0: no [[account]]: at least one is needed`}},
		{"account name missing", lines(`[[account]]`, `password_hash = "`+testHash+`"`, `addresses = ["a@x.example.com"]`),
			[]string{`1: account #1: name is required`}},
		{"account name with space", acct("app 1", `addresses = ["a@x.example.com"]`),
			[]string{`2: account "app 1": name "app 1" must not contain spaces`}},
		{"account name with slash", acct("a/b", `addresses = ["a@x.example.com"]`),
			[]string{`2: account "a/b": name "a/b" must not contain`}},
		{"account name twice", oneAccount + acct("APP1", `addresses = ["@other.example.com"]`),
			[]string{`6: account name "APP1" is used twice (also at line 2)`}},
		{"password_hash missing", lines(`[[account]]`, `name = "app1"`, `addresses = ["a@x.example.com"]`),
			[]string{"1: account \"app1\": password_hash is required; use `maildock passwd` to make one"}},
		{"password_hash is a password", lines(`[[account]]`, `name = "app1"`, `password_hash = "hunter2"`, `addresses = ["a@x.example.com"]`),
			[]string{"3: account \"app1\": password_hash must be a bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$) hash, not a password; use `maildock passwd`"}},
		{"password_hash truncated bcrypt", lines(`[[account]]`, `name = "app1"`, `password_hash = "`+testHash[:40]+`"`, `addresses = ["a@x.example.com"]`),
			[]string{`3: account "app1": password_hash is not a well-formed bcrypt hash`}},
		{"password_hash bad argon2id", lines(`[[account]]`, `name = "app1"`, `password_hash = "$argon2id$nonsense"`, `addresses = ["a@x.example.com"]`),
			[]string{`3: account "app1": password_hash is not a well-formed argon2id hash`}},
		{"addresses missing", acct("app1"),
			[]string{`1: account "app1": addresses is required`}},
		{"addresses empty", acct("app1", `addresses = []`),
			[]string{`4: account "app1": addresses is required`}},
		{"bad addresses", acct("app1", `addresses = [`,
			`  "no-at-sign",`,
			`  "inbox@",`,
			`  "in box@x.example.com",`,
			`  "@bad_domain.example.com",`,
			`  "a..b@x.example.com",`,
			`  "\"quoted\"@x.example.com",`,
			`  "x@192.0.2.1",`,
			`  "x@[192.0.2.1]",`,
			`  "x@example.com.",`,
			`  "x@-x.example.com",`,
			`  "x@a..example.com",`,
			`]`),
			[]string{
				`5: address "no-at-sign" is not an address`,
				`6: address "inbox@": the domain is missing`,
				`7: address "in box@x.example.com": the local part must not contain ' '`,
				`8: address "@bad_domain.example.com": the domain must not contain '_'`,
				`9: address "a..b@x.example.com": the local part must not start or end with a dot or have two dots in a row`,
				`10: quoted local parts are not supported`,
				`11: address "x@192.0.2.1": the domain looks like an IP address`,
				`12: address literals such as [192.0.2.1] are not supported`,
				`13: address "x@example.com.": the domain must not end with a dot`,
				`14: the domain has a label "-x" that starts or ends with a hyphen`,
				`15: the domain has an empty label`,
			}},
		{"duplicate address across accounts", oneAccount + acct("app2", `addresses = ["@app2.example.com", "INBOX@app1.example.com"]`),
			[]string{`8: account "app2": address "INBOX@app1.example.com" is already an address of account "app1" as "inbox@app1.example.com" (addresses ignore case) (line 4)`}},
		{"duplicate address in one account", acct("app1", `addresses = ["a@x.example.com",`, `  "a@x.example.com"]`),
			[]string{`5: account "app1": address "a@x.example.com" is listed twice (line 4)`}},
		{"duplicate catch-all", acct("app1", `addresses = ["@x.example.com"]`) + acct("app2", `addresses = ["@X.example.com"]`),
			[]string{`8: account "app2": address "@X.example.com" is already an address of account "app1"`}},
		{"negative retention and quota", acct("app1", `addresses = ["a@x.example.com"]`, `retention = "-1d"`, `quota = -1`),
			[]string{`5: account "app1": retention must not be negative`, `6: account "app1": quota must not be negative`}},
		{"bad send_as and relay_as", acct("app1", `addresses = ["a@x.example.com"]`, `send_as = ["@contoso.com", "ok@contoso.com"]`, `relay_as = "nobody"`),
			[]string{`5: account "app1": send_as "@contoso.com" is not a full address`, `6: account "app1": relay_as "nobody" is not an address`}},
		{"bad pickup", oneAccount + lines(`[account.pickup]`, `format = "pdf"`, `line_endings = "cr"`, `file_mode = "0999"`),
			[]string{
				`5: account "app1": pickup.dir is required`,
				`6: account "app1": pickup.format = "pdf": want one of eml | maildir | iis`,
				`7: account "app1": pickup.line_endings = "cr": want one of crlf | lf`,
				`8: account "app1": pickup.file_mode = "0999": want octal permissions`,
			}},

		// [relay] and [[pickup_out]].
		{"relay enums", lines(`[relay]`, `mode = "exchange"`, `tls = "ssl"`) + oneAccount,
			[]string{`2: relay.mode = "exchange": want one of oauth2 | connector | smarthost`, `3: relay.tls = "ssl": want one of starttls | implicit`}},
		{"relay numbers", lines(`[relay]`, `queue_lifetime = "0s"`, `retry_initial = "-1m"`, `max_connections = 0`, `host = "smtp.office365.com"`) + oneAccount,
			[]string{
				`2: relay.queue_lifetime must be positive`,
				`3: relay.retry_initial must be positive`,
				`4: relay.max_connections must be at least 1`,
				`5: relay.host = "smtp.office365.com": want host:port`,
			}},
		{"relay retry longer than lifetime", lines(`[relay]`, `queue_lifetime = "1h"`, `retry_initial = "2h"`) + oneAccount,
			[]string{`3: relay.retry_initial 2h is longer than relay.queue_lifetime 1h`}},
		{"relay connector without host", lines(`[relay]`, `mode = "connector"`) + oneAccount,
			[]string{`1: relay.host must be set for mode "connector"`}},
		{"relay oauth2 in use without credentials", lines(`[submission]`, `listen = ["127.0.0.1:587"]`, `[relay]`, `mode = "oauth2"`) + oneAccount,
			[]string{
				`3: relay.tenant_id is required for mode "oauth2"`,
				`3: relay.client_id is required for mode "oauth2"`,
				`3: relay: mode "oauth2" needs client_secret_file, or client_cert_file and client_key_file`,
			}},
		{"relay smarthost half auth", lines(`[submission]`, `listen = ["127.0.0.1:587"]`, `[relay]`, `mode = "smarthost"`, `host = "smtp.example.com:587"`, `username = "u"`) + oneAccount,
			[]string{`6: relay: set both username and password_file`}},
		{"relay files", lines(`[submission]`, `listen = ["127.0.0.1:587"]`, `[relay]`, `tenant_id = "t"`, `client_id = "c"`, `client_secret_file = "/nonexistent/secret"`, `ca_file = "/nonexistent/ca.pem"`, `token_url = "http://login.example.com/token"`) + oneAccount,
			[]string{
				`6: relay.client_secret_file: open /nonexistent/secret: no such file or directory`,
				`7: relay.ca_file: open /nonexistent/ca.pem: no such file or directory`,
				`8: relay.token_url = "http://login.example.com/token": want an https:// URL`,
			}},
		{"pickup_out problems", lines(`[[pickup_out]]`, `account = "nobody"`, `after = "keep"`, `[[pickup_out]]`, `dir = "/srv/out"`, `account = "app1"`, `[relay]`, `mode = "smarthost"`, `host = "smtp.example.com:25"`) + oneAccount,
			[]string{
				`1: pickup_out.dir is required`,
				`2: pickup_out.account "nobody" is not the name of an [[account]]`,
				`3: pickup_out.after = "keep": want one of delete | move`,
			}},
		{"folder used twice", oneAccount + lines(`[account.pickup]`, `dir = "/srv/drop"`, `[[pickup_out]]`, `dir = "/srv/drop/"`, `account = "app1"`, `[relay]`, `mode = "smarthost"`, `host = "smtp.example.com:25"`),
			[]string{`8: folder "/srv/drop/" is also used at line 6`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.doc), "t.toml")
			if err == nil {
				t.Fatalf("Parse succeeded (%d accounts), want problems %q\ndocument:\n%s", len(c.Accounts), tt.want, tt.doc)
			}
			if c != nil {
				t.Errorf("Parse returned a config with its error")
			}
			ps := problemsOf(t, err)
			checkProblems(t, ps, tt.want, tt.doc)
		})
	}
}

func checkProblems(t *testing.T, ps Problems, want []string, doc string) {
	t.Helper()
	used := make([]bool, len(ps))
	for _, w := range want {
		num, text, _ := strings.Cut(w, ": ")
		line, _ := strconv.Atoi(num)
		found := false
		for i, p := range ps {
			if !used[i] && p.Line == line && strings.Contains(p.Msg, text) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing problem at line %d containing %q", line, text)
		}
	}
	for i, p := range ps {
		if !used[i] {
			t.Errorf("unexpected problem: %s", p)
		}
		if p.File != "t.toml" {
			t.Errorf("problem %q has file %q, want t.toml", p.Msg, p.File)
		}
	}
	if t.Failed() {
		t.Logf("all problems:\n%v\ndocument:\n%s", ps, doc)
	}
}

// TestValid lists documents that must be accepted.
func TestValid(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{"bare addresses as networks", lines(`[smtp]`, `allowed_networks = ["192.0.2.1", "2001:db8::1"]`) + oneAccount},
		{"ephemeral ports may repeat", lines(`[smtp]`, `listen = ["127.0.0.1:0"]`, `listen_tls = ["127.0.0.1:0"]`, `[http]`, `listen = "127.0.0.1:0"`) + oneAccount},
		{"localhost and 127.0.0.1 are different", lines(`[smtp]`, `listen = ["localhost:2525", "127.0.0.1:2525", "0.0.0.0:2526", "[::1]:2525", ":2527"]`) + oneAccount},
		{"international addresses", lines(`[[account]]`, `name = "müller"`, `password_hash = "`+testHash+`"`, `addresses = ["müller@bücher.example", "@xn--bcher-kva.example", "o'brien+tag@x.example.com"]`)},
		{"argon2id hash", lines(`[[account]]`, `name = "a"`, `password_hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"`, `addresses = ["a@x.example.com"]`)},
		{"exact address and catch-all of one domain", lines(`[[account]]`, `name = "a"`, `password_hash = "`+testHash+`"`, `addresses = ["boss@x.example.com"]`, `[[account]]`, `name = "b"`, `password_hash = "`+testHash+`"`, `addresses = ["@x.example.com"]`)},
		{"byte order mark", "\uFEFF" + oneAccount},
		{"CRLF line endings", strings.ReplaceAll(lines(`hostname = "mx.example.com"`)+oneAccount, "\n", "\r\n")},
		{"max_failures zero disables lockout", lines(`[auth]`, `max_failures = 0`, `lockout = "0s"`) + oneAccount},
		{"inline tables", lines(`smtp = { listen = ["127.0.0.1:2525"] }`, `account = [{ name = "a", password_hash = "`+testHash+`", addresses = ["a@x.example.com"], pickup = { dir = "/srv/a" } }]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustParse(t, tt.doc)
		})
	}
}

func TestBareAddressesBecomeHostPrefixes(t *testing.T) {
	c := mustParse(t, lines(`[smtp]`, `allowed_networks = ["192.0.2.1", "2001:db8::1", "198.51.100.0/24"]`)+oneAccount)
	var got []string
	for _, p := range c.SMTP.AllowedPrefixes {
		got = append(got, p.String())
	}
	want := "192.0.2.1/32 2001:db8::1/128 198.51.100.0/24"
	if strings.Join(got, " ") != want {
		t.Errorf("AllowedPrefixes = %v, want %s", got, want)
	}
}

// TestEveryProblemAtOnce checks the whole error text of a file with many
// problems: every one, in line order, FILE:LINE: message.
func TestEveryProblemAtOnce(t *testing.T) {
	doc := lines(
		`hostname = "mx.example.com"`,        // 1
		`bogus_key = 1`,                      // 2
		`[smtp]`,                             // 3
		`listen = ["127.0.0.1:2525"]`,        // 4
		`max_recipients = "ten"`,             // 5
		`allowed_networks = ["10.0.0.0/33"]`, // 6
		`[imap]`,                             // 7
		`listen = ["127.0.0.1:2525"]`,        // 8
		`[[account]]`,                        // 9
		`name = "app1"`,                      // 10
		`pasword_hash = "x"`,                 // 11
		`addresses = ["a@x.example.com"]`,    // 12
		`[[account]]`,                        // 13
		`name = "app2"`,                      // 14
		`password_hash = "`+testHash+`"`,     // 15
		`addresses = ["A@x.example.com"]`,    // 16
	)
	_, err := Parse([]byte(doc), "bad.toml")
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	want := strings.Join([]string{
		`bad.toml:2: unknown key "bogus_key"; known keys at the top level: hostname, data_dir, log, tls, smtp, imap, pop3, submission, auth, http, relay, pickup_out, account`,
		`bad.toml:5: smtp.max_recipients: want an integer, not a TOML string`,
		`bad.toml:6: smtp.allowed_networks: "10.0.0.0/33" is not a network: want a CIDR such as "10.0.0.0/8" or "2001:db8::/32", or one address`,
		`bad.toml:8: imap.listen: "127.0.0.1:2525" is already used by smtp.listen (line 4); each address can be listened on once`,
		`bad.toml:11: unknown key "account.pasword_hash" (did you mean "account.password_hash"?)`,
		`bad.toml:16: account "app2": address "A@x.example.com" is already an address of account "app1" as "a@x.example.com" (addresses ignore case) (line 12); an address belongs to one account`,
	}, "\n")
	if got := err.Error(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "maildock.toml")
	if err := os.WriteFile(path, []byte(oneAccount), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Errorf("Load(%s): %v", path, err)
	}
	missing := filepath.Join(dir, "nope.toml")
	_, err := Load(missing)
	want := missing + ": cannot read the config file: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("Load(missing) = %v, want %q", err, want)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{"a.toml", 3, "bad"}, "a.toml:3: bad"},
		{Problem{"a.toml", 0, "bad"}, "a.toml: bad"},
		{Problem{"", 3, "bad"}, "line 3: bad"},
		{Problem{"", 0, "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
	ps := Problems{{"a", 0, "z"}, {"a", 9, "y"}, {"a", 2, "x"}, {"a", 2, "x"}}.sorted()
	if got, want := ps.Error(), "a:2: x\na:9: y\na: z"; got != want {
		t.Errorf("sorted problems:\n%s\nwant:\n%s", got, want)
	}
}

func TestAddressMapDomainsSummary(t *testing.T) {
	c := mustParse(t, lines(
		`[[account]]`,
		`name = "app1"`,
		`password_hash = "`+testHash+`"`,
		`addresses = ["Inbox@App1.example.com", "@app1.example.com"]`,
		`[[account]]`,
		`name = "app2"`,
		`password_hash = "`+testHash+`"`,
		`addresses = ["@APP2.example.com", "x@b.example.com"]`,
		`[account.pickup]`,
		`dir = "/srv/app2"`,
	))
	exact, catchAll := c.AddressMap()
	if got, want := exact, map[string]string{"inbox@app1.example.com": "app1", "x@b.example.com": "app2"}; !mapsEqual(got, want) {
		t.Errorf("exact = %v, want %v", got, want)
	}
	if got, want := catchAll, map[string]string{"app1.example.com": "app1", "app2.example.com": "app2"}; !mapsEqual(got, want) {
		t.Errorf("catchAll = %v, want %v", got, want)
	}
	if got, want := strings.Join(c.Domains(), " "), "app1.example.com app2.example.com b.example.com"; got != want {
		t.Errorf("Domains() = %s, want %s", got, want)
	}
	if a := c.Account("app2"); a == nil || a.Name != "app2" || c.Account("nope") != nil {
		t.Errorf("Account lookup is wrong: %v", a)
	}
	s := c.Summary()
	for _, want := range []string{
		"domains: app1.example.com, app2.example.com, b.example.com\n",
		"  app1: Inbox@App1.example.com, @app1.example.com\n",
		"    drop folder: /srv/app2 (eml, crlf, mode 0640; also kept in the mailbox)\n",
		"  smtp         127.0.0.1:25\n",
		"  imaps        127.0.0.1:993\n",
		"  submission   off\n",
		"  http         127.0.0.1:8025\n",
		"data_dir: /var/lib/maildock\n",
		"tls: self-signed certificate for ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("Summary() lacks %q:\n%s", want, s)
		}
	}
	if !strings.HasSuffix(s, "\n") {
		t.Errorf("Summary() does not end with a newline")
	}
	if m := regexp.MustCompile(`(?m)^  (\S+) +`).FindAllStringSubmatch(s, -1); len(m) < 9 {
		t.Errorf("Summary() lists %d indented lines, want the nine protocols at least", len(m))
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
