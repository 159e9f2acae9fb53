package pickup

import (
	"bytes"
	"io"
)

// eolWriter converts line endings while a message streams through it:
//
//   - toLF false (crlf): a bare LF becomes CRLF; CRLF stays as it is.
//   - toLF true (lf): CRLF becomes LF; a bare LF stays as it is.
//
// A lone CR (not followed by LF) is data either way and is passed on. The
// state between Writes makes the result independent of how the input is cut
// into pieces: a CRLF split across two Writes is still one CRLF. Close must
// be called at the end to pass on a CR held back by the last Write.
type eolWriter struct {
	w    io.Writer
	toLF bool
	// crlf mode: the last byte passed on was CR, so an LF first in the
	// next Write is already preceded by one.
	lastCR bool
	// lf mode: the last Write ended in CR, held back until the next byte
	// says whether it is the CR of a CRLF (dropped) or data (passed on).
	heldCR bool
	// n counts the bytes passed on to w.
	n int64
}

var (
	crlf = []byte("\r\n")
	cr   = []byte("\r")
)

func newEOLWriter(w io.Writer, toLF bool) *eolWriter {
	return &eolWriter{w: w, toLF: toLF}
}

func (e *eolWriter) emit(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	n, err := e.w.Write(p)
	e.n += int64(n)
	return err
}

// Write implements io.Writer. It reports len(p) unless w failed.
func (e *eolWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var err error
	if e.toLF {
		err = e.writeLF(p)
	} else {
		err = e.writeCRLF(p)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (e *eolWriter) writeCRLF(p []byte) error {
	start := 0
	for i := 0; i < len(p); {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		i += j
		precededByCR := e.lastCR
		if i > 0 {
			precededByCR = p[i-1] == '\r'
		}
		if !precededByCR {
			if err := e.emit(p[start:i]); err != nil {
				return err
			}
			if err := e.emit(crlf); err != nil {
				return err
			}
			start = i + 1
		}
		i++
	}
	if err := e.emit(p[start:]); err != nil {
		return err
	}
	e.lastCR = p[len(p)-1] == '\r'
	return nil
}

func (e *eolWriter) writeLF(p []byte) error {
	if e.heldCR {
		e.heldCR = false
		if p[0] != '\n' {
			// The held CR was data, not the start of a CRLF.
			if err := e.emit(cr); err != nil {
				return err
			}
		}
	}
	// A CR at the very end may be the first half of a CRLF: hold it.
	end := len(p)
	if p[end-1] == '\r' {
		e.heldCR = true
		end--
	}
	start := 0
	for i := 0; i < end; {
		j := bytes.Index(p[i:end], crlf)
		if j < 0 {
			break
		}
		i += j
		// Pass on everything before the CR; the LF starts the next run.
		if err := e.emit(p[start:i]); err != nil {
			return err
		}
		start = i + 1
		i += 2
	}
	return e.emit(p[start:end])
}

// Close passes on a CR held back at the end of the data. It does not close
// the underlying writer.
func (e *eolWriter) Close() error {
	if e.heldCR {
		e.heldCR = false
		return e.emit(cr)
	}
	return nil
}
