// Package pulid owns Vigil's entity identifiers: a short type prefix and a ULID,
// such as "tnt_01JD3Z7Q9W0M6N2V4S8K1F5R3T". The prefix lets the Relay node
// resolver find an entity's type from its id alone; the ULID part is random
// enough (80 bits) that ids cannot be guessed or enumerated.
//
// Clients treat ids as opaque strings; only this package parses them.
package pulid

import (
	"crypto/rand"
	"database/sql/driver"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// ID is a prefixed ULID. Its zero value is the empty string.
type ID string

const separator = "_"

var (
	entropyMu sync.Mutex
	entropy   = ulid.Monotonic(rand.Reader, 0)
)

// New returns a fresh id with the given type prefix.
func New(prefix string) ID {
	entropyMu.Lock()
	u := ulid.MustNew(ulid.Timestamp(time.Now()), entropy)
	entropyMu.Unlock()
	return ID(prefix + separator + u.String())
}

// Prefix returns the type prefix of id, or "" when id is not well formed.
func (id ID) Prefix() string {
	prefix, rest, ok := strings.Cut(string(id), separator)
	if !ok || prefix == "" || len(rest) != ulid.EncodedSize {
		return ""
	}
	if _, err := ulid.ParseStrict(rest); err != nil {
		return ""
	}
	return prefix
}

// String implements fmt.Stringer.
func (id ID) String() string { return string(id) }

// Scan implements sql.Scanner.
func (id *ID) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*id = ""
	case string:
		*id = ID(v)
	case []byte:
		*id = ID(string(v))
	case ID:
		*id = v
	default:
		return fmt.Errorf("pulid: cannot scan %T into an ID", src)
	}
	return nil
}

// Value implements driver.Valuer.
func (id ID) Value() (driver.Value, error) { return string(id), nil }

// UnmarshalGQL implements graphql.Unmarshaler.
// The generated node resolver passes an ID itself.
func (id *ID) UnmarshalGQL(v any) error {
	switch s := v.(type) {
	case string:
		*id = ID(s)
	case ID:
		*id = s
	default:
		return fmt.Errorf("an ID must be a string, not %T", v)
	}
	return nil
}

// MarshalGQL implements graphql.Marshaler.
func (id ID) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.Quote(string(id)))
}
