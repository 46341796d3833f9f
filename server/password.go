package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"

	"github.com/cloudledger/cloudledger/errcode"
)

// Passwords (SPEC: Access): argon2id with OWASP's minimum parameters (19 MiB, 2 passes,
// 1 lane), stored as a PHC string. The memory is the price of each sign-in attempt, so it
// is kept at the minimum that still makes offline guessing expensive.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	// MinPasswordLen and MinPasswordClasses are SPEC's policy: at least 8 characters of 3
	// of the classes lower case, upper case, digits, other.
	MinPasswordLen     = 8
	MinPasswordClasses = 3
	MaxPasswordLen     = 256
)

func checkPasswordPolicy(pw string) *errcode.Error {
	if n := len([]rune(pw)); n < MinPasswordLen || len(pw) > MaxPasswordLen {
		return errcode.Errf(errcode.PasswordPolicy, "password", "%d characters; a password has %d to %d", n, MinPasswordLen, MaxPasswordLen)
	}
	var lower, upper, digit, other int
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	if n := lower + upper + digit + other; n < MinPasswordClasses {
		return errcode.Errf(errcode.PasswordPolicy, "password", "%d classes of characters; a password has at least %d of lower case, upper case, digits, other", n, MinPasswordClasses)
	}
	return nil
}

func hashPassword(pw string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// passwordMatches checks pw against a PHC string written by hashPassword (its own
// parameters, so that a later change of the defaults keeps old hashes valid).
func passwordMatches(phc, pw string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 256*1024 || t > 16 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
