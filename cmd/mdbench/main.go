//go:build linux

// Command mdbench measures maildock's durable SMTP ingest: messages per
// second and the latency of the final 250 for 1, 8 and 32 concurrent senders
// with 4 KiB and 256 KiB messages, messages per fsync, CPU per message, the
// machine's own fsync rate, POP3 LIST/UIDL/RETR over a 10,000-message
// maildrop, and the peak memory of storing a 50 MiB message.
//
// It starts the built binary (bin/maildock) on loopback with a temporary
// data directory, drives it with go-smtp clients, prints a Markdown report
// and changes nothing else. Every load loop is bounded by time and count.
// Linux only: it reads /proc and calls fdatasync.
//
//	go run ./cmd/mdbench -bin bin/maildock -duration 5s
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"
)

func main() {
	bin := flag.String("bin", "bin/maildock", "maildock binary to measure")
	duration := flag.Duration("duration", 5*time.Second, "length of each load run")
	maxMsgs := flag.Int("max", 50000, "upper bound of messages per run")
	flag.Parse()
	if err := run(*bin, *duration, *maxMsgs); err != nil {
		fmt.Fprintln(os.Stderr, "mdbench:", err)
		os.Exit(1)
	}
}

func run(bin string, duration time.Duration, maxMsgs int) error {
	tmp, err := os.MkdirTemp("", "mdbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Printf("## Ingest benchmark\n\nCommand: `make bench` (`go run ./cmd/mdbench -bin %s -duration %s`)\n\n", bin, duration)
	fmt.Printf("Machine: %s, %d cores, %s, %s, data on %s\n\n", cpuModel(), runtime.NumCPU(), kernel(), runtime.Version(), fsType(tmp))
	rate, err := fsyncRate(tmp)
	if err != nil {
		return err
	}
	fmt.Printf("fdatasync rate of this disk (4 KiB write + fdatasync, one thread): **%.0f /s**\n\n", rate)

	srv, err := startServer(bin, filepath.Join(tmp, "run"))
	if err != nil {
		return err
	}
	fmt.Println("| senders | size | msgs/s | MB/s | p50 250 | p99 250 | msgs/fsync | CPU ms/msg |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, size := range []int{4 << 10, 256 << 10} {
		for _, c := range []int{1, 8, 32} {
			r, err := load(srv, c, size, duration, maxMsgs)
			if err != nil {
				srv.stop()
				return err
			}
			fmt.Printf("| %d | %d KiB | %.0f | %.1f | %s | %s | %.1f | %.3f |\n", c, size>>10, r.rate, r.rate*float64(size)/1e6,
				ms(r.p50), ms(r.p99), r.perFsync, r.cpuPerMsg*1000)
		}
	}
	srv.stop()

	if err := pop3Bench(filepath.Join(tmp, "pop3"), bin); err != nil {
		return err
	}

	// Peak memory storing one 50 MiB message, in a fresh process.
	srv, err = startServer(bin, filepath.Join(tmp, "mem"))
	if err != nil {
		return err
	}
	defer srv.stop()
	base := vmKB(srv.pid(), "VmHWM")
	const big = 50 << 20
	if err := send(srv.smtp, makeMessage(0, big)); err != nil {
		return fmt.Errorf("50 MiB message: %w", err)
	}
	peak := vmKB(srv.pid(), "VmHWM")
	fmt.Printf("\nPeak resident memory storing one 50 MiB message: %.1f MiB (%.1f MiB before it), %.2fx the message size (aim: under 4x)\n",
		float64(peak)/1024, float64(base)/1024, float64(peak*1024)/big)
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

const benchPassword = "bench"

type server struct {
	cmd              *exec.Cmd
	smtp, http, pop3 string
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
}

var listening = regexp.MustCompile(`msg=listening proto=(\w+) addr=(\S+)`)

func startServer(bin, dir string) (*server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(benchPassword), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`hostname = "bench.test"
data_dir = %q
[log]
level = "info"
[smtp]
listen = ["127.0.0.1:0"]
max_message_size = "60MiB"
[imap]
listen = []
listen_tls = []
[pop3]
listen = ["127.0.0.1:0"]
listen_tls = []
[http]
listen = "127.0.0.1:0"
[[account]]
name = "bench"
password_hash = %q
addresses = ["@bench.test"]
`, filepath.Join(dir, "data"), hash)
	path := filepath.Join(dir, "maildock.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	// The log is read for the listening lines and otherwise discarded; the
	// per-message log line is part of the real cost, so it stays on.
	cmd := exec.Command(bin, "serve", "--config", path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd}
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				switch m[1] {
				case "smtp":
					s.smtp = m[2]
				case "http":
					s.http = m[2]
				case "pop3":
					s.pop3 = m[2]
				}
				if s.smtp != "" && s.http != "" && s.pop3 != "" {
					close(found)
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case <-found:
		return s, nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return nil, fmt.Errorf("%s did not report its listeners", bin)
	}
}

func makeMessage(n, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: bench@example.org\r\nTo: app@bench.test\r\nSubject: bench %d\r\nMessage-ID: <%d.%d@bench>\r\n\r\n", n, n, time.Now().UnixNano())
	line := strings.Repeat("0123456789abcdef", 4) + "\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	b.WriteString(strings.Repeat("x", size-b.Len()))
	return b.Bytes()
}

func send(addr string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail("bench@example.org", []string{"app@bench.test"}, bytes.NewReader(msg))
}

type result struct {
	rate, perFsync, cpuPerMsg float64
	p50, p99                  time.Duration
}

// load runs c senders, each on its own connection, sending size-byte
// messages until duration passes or maxMsgs are sent.
func load(s *server, c, size int, duration time.Duration, maxMsgs int) (result, error) {
	msg := makeMessage(1, size)
	commits0, writes0, err := storeCounters(s.http)
	if err != nil {
		return result{}, err
	}
	cpu0 := cpuSeconds(s.pid())
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	sent := 0
	deadline := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := smtp.Dial(s.smtp)
			if err == nil {
				err = cl.Hello("bench.test")
			}
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			defer cl.Close()
			for time.Now().Before(deadline) {
				mu.Lock()
				if sent >= maxMsgs {
					mu.Unlock()
					return
				}
				sent++
				mu.Unlock()
				d, err := sendOn(cl, msg)
				mu.Lock()
				if err != nil {
					firstErr = err
					mu.Unlock()
					return
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return result{}, firstErr
	}
	commits1, writes1, err := storeCounters(s.http)
	if err != nil {
		return result{}, err
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := result{
		rate:      float64(len(lat)) / elapsed.Seconds(),
		p50:       lat[len(lat)/2],
		p99:       lat[len(lat)*99/100],
		cpuPerMsg: (cpuSeconds(s.pid()) - cpu0) / float64(len(lat)),
	}
	if commits1 > commits0 {
		r.perFsync = (writes1 - writes0) / (commits1 - commits0)
	}
	return r, nil
}

// sendOn sends one message and returns the time from the end of the data
// to the final 250.
func sendOn(c *smtp.Client, msg []byte) (time.Duration, error) {
	if err := c.Mail("bench@example.org", nil); err != nil {
		return 0, err
	}
	if err := c.Rcpt("app@bench.test", nil); err != nil {
		return 0, err
	}
	w, err := c.Data()
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(msg); err != nil {
		return 0, err
	}
	t := time.Now()
	if err := w.Close(); err != nil {
		return 0, err
	}
	return time.Since(t), nil
}

func storeCounters(httpAddr string) (commits, writes float64, err error) {
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "maildock_store_commits_total":
			commits = v
		case "maildock_store_writes_total":
			writes = v
		}
	}
	return commits, writes, sc.Err()
}

func fsyncRate(dir string) (float64, error) {
	f, err := os.Create(filepath.Join(dir, "fsync-probe"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n := 0
	start := time.Now()
	for time.Since(start) < 2*time.Second && n < 100000 {
		if _, err := f.WriteAt(buf, 0); err != nil {
			return 0, err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

func vmKB(pid int, field string) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return "Linux " + strings.TrimSpace(string(b))
}

func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "?"
	}
	names := map[int64]string{0xEF53: "ext4", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x01021994: "tmpfs", 0x794c7630: "overlayfs"}
	if n, ok := names[int64(st.Type)]; ok {
		return n
	}
	return fmt.Sprintf("fs 0x%x", st.Type)
}

// pop3Bench fills a fresh maildrop with 10,000 messages of 4 KiB, then
// times LIST, UIDL and RETR of all of them on one POP3 connection.
func pop3Bench(dir, bin string) error {
	srv, err := startServer(bin, dir)
	if err != nil {
		return err
	}
	defer srv.stop()
	const n, size = 10000, 4 << 10
	msg := makeMessage(2, size)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(srv.smtp)
			if err == nil {
				defer c.Close()
				for i := g; i < n && err == nil; i += 8 {
					_, err = sendOn(c, msg)
				}
			}
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("pop3 bench: filling the maildrop: %w", firstErr)
	}
	conn, err := net.Dial("tcp", srv.pop3)
	if err != nil {
		return err
	}
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 64<<10)
	cmd := func(line string, multi bool) (int64, error) {
		if line != "" {
			if _, err := io.WriteString(conn, line+"\r\n"); err != nil {
				return 0, err
			}
		}
		first, err := br.ReadString('\n')
		if err != nil {
			return 0, err
		}
		if !strings.HasPrefix(first, "+OK") {
			return 0, fmt.Errorf("pop3 %q: %s", line, strings.TrimSpace(first))
		}
		var bytes int64
		for multi {
			l, err := br.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull {
				return 0, err
			}
			if string(l) == ".\r\n" {
				break
			}
			bytes += int64(len(l))
		}
		return bytes, nil
	}
	for _, step := range []struct {
		line  string
		multi bool
	}{{"", false}, {"USER bench", false}, {"PASS " + benchPassword, false}} {
		if _, err := cmd(step.line, step.multi); err != nil {
			return err
		}
	}
	fmt.Printf("\nPOP3, one connection, maildrop of %d messages of %d KiB:\n\n| step | time | msgs/s | MB/s |\n|---|---:|---:|---:|\n", n, size>>10)
	for _, name := range []string{"LIST", "UIDL"} {
		t := time.Now()
		if _, err := cmd(name, true); err != nil {
			return err
		}
		d := time.Since(t)
		fmt.Printf("| %s | %s | %.0f | |\n", name, ms(d), n/d.Seconds())
	}
	t := time.Now()
	var total int64
	for i := 1; i <= n; i++ {
		b, err := cmd(fmt.Sprintf("RETR %d", i), true)
		if err != nil {
			return err
		}
		total += b
	}
	d := time.Since(t)
	fmt.Printf("| RETR all | %s | %.0f | %.1f |\n", ms(d), n/d.Seconds(), float64(total)/1e6/d.Seconds())
	_, err = cmd("QUIT", false)
	return err
}
