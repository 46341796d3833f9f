package server

import (
	"encoding/base64"
	"testing"
)

// FuzzParseSession: a session string comes from any caller. It is accepted only with a
// valid signature of the key, never panics, and a tampered valid one is refused.
func FuzzParseSession(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	good := signWith(key, sessionClaims{Account: "sup1", ID: "abc", Issued: 1, Last: 2})
	f.Add(good)
	f.Add("")
	f.Add(".")
	f.Add("e30.")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"a":"x","s":"y"}`)) + ".AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		c, ok := parseSession(key, tok)
		if ok && (c == nil || c.Account == "" || c.ID == "") {
			t.Fatalf("accepted %q without claims", tok)
		}
		if ok {
			// What it accepts is what the key signed: the claims signed again verify, and
			// under another key nothing does.
			if _, again := parseSession(key, signWith(key, *c)); !again {
				t.Fatalf("claims of %q do not verify once signed again", tok)
			}
			if _, other := parseSession([]byte("another key of thirty-two bytes!"), tok); other {
				t.Fatalf("%q verifies under two keys", tok)
			}
		}
	})
}

func TestParseSessionRefusesTampering(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	good := signWith(key, sessionClaims{Account: "sup1", ID: "abc", Issued: 1, Last: 2})
	if _, ok := parseSession(key, good); !ok {
		t.Fatal("a good session refused")
	}
	forged := signWith([]byte("another key of thirty-two bytes!"), sessionClaims{Account: "admin", ID: "abc", Issued: 1, Last: 2})
	if _, ok := parseSession(key, forged); ok {
		t.Fatal("a session signed with another key accepted")
	}
	b := []byte(good)
	b[3] ^= 1
	if _, ok := parseSession(key, string(b)); ok {
		t.Fatal("an altered session accepted")
	}
}
