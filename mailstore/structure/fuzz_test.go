package structure

import (
	"bytes"
	"reflect"
	"testing"
	"testing/iotest"
)

// fuzzSeeds are the corpus files, the large ones cut to their first 8 KB to
// keep the fuzzer quick, plus a few small oddities.
func fuzzSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{
		nil,
		[]byte("\r\n"),
		[]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b--"),
		[]byte("Content-Type: message/rfc822\n\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: x\n\n--d--"),
	}
	for _, c := range corpus {
		raw := readCorpus(f, c.name)
		if len(raw) > 8<<10 {
			raw = raw[:8<<10]
		}
		seeds = append(seeds, raw)
	}
	return seeds
}

// FuzzParse checks that Parse never fails or panics, that the structure
// holds its invariants, that the read buffer's size changes nothing, and that
// the structure's encoding round-trips.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := mustParse(t, raw)
		small, err := parse(iotest.HalfReader(bytes.NewReader(raw)), 16)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(small, m) {
			t.Fatal("a 16-byte read buffer gives another structure")
		}
		roundTrip(t, m)
	})
}

// FuzzUnmarshalBinary checks that UnmarshalBinary never panics, and that
// what it accepts encodes again.
func FuzzUnmarshalBinary(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		m, err := Parse(bytes.NewReader(s))
		if err != nil {
			f.Fatal(err)
		}
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{encodingVersion})
	f.Add([]byte{encodingVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
	})
}
