package structure

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

func roundTrip(t testing.TB, m *Message) []byte {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	var got Message
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	if !reflect.DeepEqual(&got, m) {
		t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", got, *m)
	}
	return b
}

func TestEncodingCorpus(t *testing.T) {
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			m := mustParse(t, readCorpus(t, c.name))
			b := roundTrip(t, m)
			again, _ := m.MarshalBinary()
			if !bytes.Equal(b, again) {
				t.Error("MarshalBinary is not deterministic")
			}
			t.Logf("%d bytes", len(b))
		})
	}
}

// TestEncodingCompact keeps an eye on the size: the structure of the
// Exchange message (five parts, a full envelope, two 66-byte boundaries, long
// message ids) should stay under a kilobyte.
func TestEncodingCompact(t *testing.T) {
	b, err := mustParse(t, readCorpus(t, "exchange-forwarded.eml")).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 900 {
		t.Errorf("%d bytes", len(b))
	}
}

func TestEncodingEdgeValues(t *testing.T) {
	from := []Address{{"A", "a", "example.org"}}
	msgs := []*Message{
		{},
		{Root: &Part{}},
		{
			Envelope: Envelope{
				Date:    time.Date(2024, 5, 14, 9, 12, 40, 123456789, time.FixedZone("", -(9*3600+30*60))),
				DateRaw: "x", Subject: "\xff\x00 not UTF-8",
				From: from, Sender: []Address{}, ReplyTo: []Address{{"B", "b", ""}},
				To: []Address{}, Cc: nil, Bcc: []Address{{}},
				InReplyTo: "<a@b>", MessageID: "<c@d>",
			},
			Root: &Part{
				HeaderStart: 0, BodyStart: -5, End: 1 << 62,
				Type: "multipart", Subtype: "x-custom-subtype-not-in-the-table",
				Params:            map[string]string{},
				DispositionParams: map[string]string{"": "", "filename": "a\x00b"},
				Language:          []string{},
				Lines:             -1,
				Children: []*Part{
					{HeaderStart: 100, BodyStart: 90, End: 80, Children: []*Part{}},
					{HeaderStart: -1 << 63, BodyStart: 1<<63 - 1, End: 0, Language: []string{"en", ""},
						Envelope: &Envelope{From: from, Sender: from},
						Message:  &Part{Type: "text", Subtype: "plain", Params: map[string]string{"charset": "us-ascii"}}},
				},
			},
		},
	}
	for i, m := range msgs {
		if i == 2 {
			// Sender and ReplyTo given as From round-trip as From.
			m.Envelope.Sender = m.Envelope.From
		}
		roundTrip(t, m)
	}
}

func TestUnmarshalCorrupt(t *testing.T) {
	m := mustParse(t, readCorpus(t, "nested-rfc822.eml"))
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	keep := &Message{Envelope: Envelope{Subject: "unchanged"}}
	for n := 0; n < len(b); n++ {
		got := *keep
		if err := got.UnmarshalBinary(b[:n]); err == nil {
			t.Fatalf("a %d-byte prefix of %d decoded", n, len(b))
		}
		if !reflect.DeepEqual(&got, keep) {
			t.Fatalf("a failed decode changed the message")
		}
	}
	if err := new(Message).UnmarshalBinary(append(append([]byte{}, b...), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	bad := append([]byte{}, b...)
	bad[0] = 99
	if err := new(Message).UnmarshalBinary(bad); err == nil {
		t.Error("unknown version accepted")
	}
	// Every single-byte change either fails or decodes to something that
	// encodes again.
	for i := range b {
		for _, v := range []byte{0, 1, 0x7f, 0x80, 0xff} {
			c := append([]byte{}, b...)
			c[i] = v
			checkDecode(t, c)
		}
	}
}

// checkDecode decodes b; if that works, the result must survive a round trip.
func checkDecode(t testing.TB, b []byte) {
	var m Message
	if m.UnmarshalBinary(b) != nil {
		return
	}
	roundTrip(t, &m)
}
