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
	from := []Address{{"A", "a", "example.org", 0}}
	msgs := []*Message{
		{},
		{Root: &Part{}},
		{
			Envelope: Envelope{
				Date:    time.Date(2024, 5, 14, 9, 12, 40, 123456789, time.FixedZone("", -(9*3600+30*60))),
				DateRaw: "x", Subject: "\xff\x00 not UTF-8",
				From: from, Sender: []Address{}, ReplyTo: []Address{{"B", "b", "", 0}},
				To: []Address{{"", "team", "", GroupStart}, {"", "t", "x", 0}, {"", "", "", GroupEnd}}, Cc: nil, Bcc: []Address{{}},
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

// Structures stored before groups existed (version 1) still decode.
func TestDecodeVersion1(t *testing.T) {
	v1 := []byte{1,
		0, 0, 0, // date zero, DateRaw "", Subject ""
		2, 0, 64 + 1, 'a', 64 + 1, 'x', // From: one address ("", "a", "x")
		1, 1, // Sender, Reply-To: as From
		2, 64 + 1, 'B', 64 + 1, 'b', 0, // To: ("B", "b", "")
		0, 0, 0, 0, // Cc, Bcc, In-Reply-To, Message-ID
		0, // no root part
	}
	var m Message
	if err := m.UnmarshalBinary(v1); err != nil {
		t.Fatal(err)
	}
	want := Envelope{From: []Address{{"", "a", "x", 0}}, Sender: []Address{{"", "a", "x", 0}}, ReplyTo: []Address{{"", "a", "x", 0}}, To: []Address{{"B", "b", "", 0}}}
	if !reflect.DeepEqual(m.Envelope, want) {
		t.Errorf("version 1 envelope: %#v, want %#v", m.Envelope, want)
	}
	if err := m.UnmarshalBinary([]byte{3, 0}); err == nil {
		t.Error("version 3 decoded")
	}
}
