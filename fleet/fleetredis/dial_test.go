package fleetredis

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/fleet"
	"github.com/tollgate/tollgate/internal/redistest"
)

var discardLogger = slog.New(slog.DiscardHandler)

// leaseOnce makes one decision on a fresh bucket and reports where its tokens came from.
func leaseOnce(t *testing.T, c *fleet.Client) fleet.Mode {
	t.Helper()
	id := fleet.BucketID{Rule: "dial", Region: "us-east-1", Service: "EC2", Operation: "DescribeInstances"}
	c.Reserve(time.Now(), id, fleet.Spec{Rate: 20, Burst: 100}, 1, 0)
	return c.Mode(id)
}

// TestDialAuth: a redis-server started with --requirepass, and with an ACL user: Dial with the
// password in the URL leases from it; with a wrong or no password, the store refuses every
// call and the process falls back. No error quotes the password.
func TestDialAuth(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "s3cret-pw")
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: "s3cret-pw"})
	defer admin.Close()
	if err := admin.Do(context.Background(), "ACL", "SETUSER", "fleet", "on", ">fleet-pw", "~tollgate:*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url  string
		want fleet.Mode
	}{
		{"redis://:s3cret-pw@" + srv.Addr(), fleet.Leased},
		{"redis://fleet:fleet-pw@" + srv.Addr() + "/0", fleet.Leased},
		{"redis://:wrong@" + srv.Addr(), fleet.Fallback},
		{"redis://" + srv.Addr(), fleet.Fallback},
	} {
		fc, err := Dial(c.url, fleet.Options{Logger: discardLogger, Timeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatalf("Dial(%s): %v", c.url, err)
		}
		if got := leaseOnce(t, fc); got != c.want {
			t.Errorf("%s: mode %v, want %v", c.url, got, c.want)
		}
		if err := fc.Close(context.Background()); err != nil && c.want == fleet.Leased {
			t.Errorf("Close: %v", err)
		}
	}
	// Bad URLs are refused at once, and never quote a password.
	for _, bad := range []string{"http://:pw-in-url@localhost:6379", "redis://:pw-in-url@localhost:6379/x", "::not a url", "redis://:pw-in-url@localhost:6379/?nonsense=1"} {
		_, err := Dial(bad, fleet.Options{})
		if err == nil {
			t.Errorf("Dial(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "pw-in-url") || !strings.HasPrefix(err.Error(), "fleet: Redis URL") {
			t.Errorf("Dial(%q): %v", bad, err)
		}
	}
}

// TestDialTLS: a redis-server serving TLS (Debian's is built with it) with a certificate from a
// private CA: Dial with rediss:// and fleet.Options.TLS holding that CA leases from it; without the
// CA the certificate does not verify and the process falls back.
func TestDialTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "tollgate test CA", dir, "ca")
	newCert(t, ca, caKey, "127.0.0.1", dir, "server")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	redistest.Start(t, "--tls-port", strconv.Itoa(port), "--tls-cert-file", filepath.Join(dir, "server.crt"),
		"--tls-key-file", filepath.Join(dir, "server.key"), "--tls-ca-cert-file", filepath.Join(dir, "ca.crt"),
		"--tls-auth-clients", "no")
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	url := fmt.Sprintf("rediss://127.0.0.1:%d", port)
	fc, err := Dial(url, fleet.Options{Logger: discardLogger, Timeout: time.Second, TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close(context.Background())
	if got := leaseOnce(t, fc); got != fleet.Leased {
		t.Errorf("rediss:// with the CA: mode %v, want leased", got)
	}
	untrusted, err := Dial(url, fleet.Options{Logger: discardLogger, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close(context.Background())
	if got := leaseOnce(t, untrusted); got != fleet.Fallback {
		t.Errorf("rediss:// without the CA: mode %v, want fallback (the certificate must not verify)", got)
	}
	if _, err := Dial("redis://127.0.0.1:1", fleet.Options{TLS: &tls.Config{}}); err == nil {
		t.Errorf("a TLS configuration for a redis:// URL was accepted")
	}
}

// newCert writes name.crt and name.key to dir: a CA when parent is nil, else a server
// certificate for the IP address cn signed by parent.
func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn, dir, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
		parent, parentKey = tmpl, key
	} else {
		tmpl.IPAddresses = []net.IP{net.ParseIP(cn)}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".crt", "CERTIFICATE", der)
	write(name+".key", "EC PRIVATE KEY", kb)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
