package pki

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// Token prefixes tell token kinds apart on sight.
const (
	PrefixJoin = "vjoin"
	PrefixAPI  = "vapi"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewToken returns a token "PREFIX.ID.SECRET" (ID 8 chars, secret 160
// bits), its ID, and the hash to store.
func NewToken(prefix string) (token, id, hash string) {
	var b [25]byte
	_, _ = rand.Read(b[:])
	id = strings.ToLower(b32.EncodeToString(b[:5]))
	secret := strings.ToLower(b32.EncodeToString(b[5:]))
	token = prefix + "." + id + "." + secret
	return token, id, HashToken(token)
}

// HashToken is the stored form of a token: hex SHA-256 of its whole text.
// Tokens carry 160 random bits, so a plain hash is enough.
func HashToken(token string) string {
	s := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return hex.EncodeToString(s[:])
}

// TokenID extracts the ID of a well-formed token ("" otherwise).
func TokenID(token string) string {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}
