// Package configs loads and validates maildock's TOML configuration.
//
// It is pure data: Load and Parse turn a file into a *Config with every
// default applied, or into a Problems error that lists every problem in the
// file at once, each as "FILE:LINE: message" with a hint where one helps.
// No other package of the product reads the config file; only cmd/maildock
// turns a *Config into each package's Options.
//
// # Strictness
//
// An unknown or misspelt key is an error with its line (and a suggestion
// when a known key is close), as is a value of the wrong type. Semantic
// checks (addresses, CIDRs, listen addresses, duplicates, enumerations,
// ranges, the TLS key pair) run on the whole file and report everything
// they find; the line of the offending key is given where it is known.
//
// # Defaults
//
// Defaults live in one place, defaults(), which pre-fills the Config before
// the file is decoded: a key that is absent keeps its default, a key that is
// present replaces it. So `listen_tls = []` disables a listener while
// omitting listen_tls keeps the default one. Defaults of repeated tables
// ([[account]], [account.pickup], [[pickup_out]]) are filled in after
// decoding, from what the file left out.
//
// The default policy is loopback unless configured: every listener that is
// on by default (SMTP 127.0.0.1:25, IMAP 127.0.0.1:143/993, POP3
// 127.0.0.1:110/995, HTTP 127.0.0.1:8025) binds to 127.0.0.1, submission
// is off, and only an explicit listen key in the file exposes a port to the
// network. Development returns the embedded development default used by
// `maildock serve` without --config: loopback only, unprivileged ports.
//
// Relative paths in the file (data_dir, certificates, drop folders) are
// kept as written and so are relative to the server's working directory.
package configs
