package structure

import "github.com/emersion/go-message/charset"

// charsetReader converts text in a charset to UTF-8, for RFC 2047 words and
// RFC 2231 values in parameters. go-message's charset package knows every
// charset golang.org/x/text does; an unknown one is an error, and the caller
// then keeps the raw bytes.
var charsetReader = charset.Reader
