package mailstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketClients holds, per account, how its clients log in: one record
// per protocol and TLS version, so that an admin can see which apps are
// still on TLS 1.0 or plaintext long after the logs have rotated.
//
//	clients/<account> 0 <proto> 0 <tls> -> first u64 unix, last u64 unix, logins u64
var bucketClients = []byte("clients")

// ClientUse is how an account's clients logged in with one protocol and
// TLS version ("TLS 1.2", or "none").
type ClientUse struct {
	Account, Proto, TLS string
	Logins              int64
	First, Last         time.Time
}

func clientKey(account, proto, tlsVersion string) []byte {
	return []byte(account + "\x00" + proto + "\x00" + tlsVersion)
}

// RecordClients adds logins to the records (one transaction for all):
// counts add up, First and Last widen.
func (s *Store) RecordClients(ctx context.Context, uses []ClientUse) error {
	if len(uses) == 0 {
		return nil
	}
	_, err := s.update(ctx, 0, func(c *commitCtx) error {
		b, err := c.tx.CreateBucketIfNotExists(bucketClients)
		if err != nil {
			return err
		}
		for _, u := range uses {
			k := clientKey(u.Account, u.Proto, u.TLS)
			if old := b.Get(k); len(old) == 24 {
				first := time.Unix(int64(binary.BigEndian.Uint64(old)), 0)
				if first.Before(u.First) || u.First.IsZero() {
					u.First = first
				}
				if last := time.Unix(int64(binary.BigEndian.Uint64(old[8:])), 0); last.After(u.Last) {
					u.Last = last
				}
				u.Logins += int64(binary.BigEndian.Uint64(old[16:]))
			}
			v := make([]byte, 24)
			binary.BigEndian.PutUint64(v, uint64(u.First.Unix()))
			binary.BigEndian.PutUint64(v[8:], uint64(u.Last.Unix()))
			binary.BigEndian.PutUint64(v[16:], uint64(u.Logins))
			if err := b.Put(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mailstore: record clients: %w", err)
	}
	return nil
}

// Clients returns an account's records, ordered by protocol and TLS
// version.
func (s *Store) Clients(account string) ([]ClientUse, error) {
	var out []ClientUse
	prefix := []byte(account + "\x00")
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClients)
		if b == nil {
			return nil
		}
		cur := b.Cursor()
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			parts := bytes.SplitN(k[len(prefix):], []byte{0}, 2)
			if len(parts) != 2 || len(v) != 24 {
				return fmt.Errorf("client record %q: %w", k, errCorrupt)
			}
			out = append(out, ClientUse{Account: account, Proto: string(parts[0]), TLS: string(parts[1]),
				First:  time.Unix(int64(binary.BigEndian.Uint64(v)), 0),
				Last:   time.Unix(int64(binary.BigEndian.Uint64(v[8:])), 0),
				Logins: int64(binary.BigEndian.Uint64(v[16:]))})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mailstore: clients of %s: %w", account, err)
	}
	return out, nil
}
