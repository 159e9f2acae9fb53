package pickup

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkDrain measures how fast a backlog drains into an eml folder on
// the temporary directory's disk: b.N messages of 4 KB are queued with the
// timer stopped, then the writer runs until the queue is empty. Run it
// with -benchtime=10000x for the "backlog of 10,000".
func BenchmarkDrain(b *testing.B) {
	for _, format := range []string{FormatEML, FormatMaildir} {
		b.Run(format, func(b *testing.B) {
			s := openStore(b)
			for i := range b.N {
				deliver(b, s, "app", false, defaultEnv, numbered(i, 4000))
			}
			f := Folder{Account: "app", Dir: filepath.Join(b.TempDir(), "drop"), Format: format}
			b.ResetTimer()
			_, stop := runWriter(b, s, newLogRecorder(b), f)
			for backlog(b, s, "app") > 0 {
				time.Sleep(20 * time.Millisecond)
			}
			b.StopTimer()
			stop()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}
