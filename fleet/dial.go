package fleet

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/redis/go-redis/v9"
)

// URLEnv is the environment variable tollgate's commands read the fleet store's Redis URL from
// (their --redis-url flag overrides it).
const URLEnv = "TOLLGATE_REDIS_URL"

// Dial connects to the Redis server at rawURL and returns a Client that keeps its shared
// buckets there; closing the Client closes the connection. The URL is go-redis's
// (redis.ParseURL):
//
//	redis://[[user]:password@]host[:port][/db][?dial_timeout=1s&...]
//	rediss://...   the same over TLS, verified against the system's roots for the URL's host
//	unix:///path/to/redis.sock
//
// A user and password authenticate with Redis's AUTH (ACL users from Redis 6, or the
// requirepass password alone). Options.TLS, if set, replaces a rediss:// URL's TLS
// configuration (a private CA, a client certificate). Dial does not contact the server: the
// first lease does, bounded by Options.Timeout like every store call, and a server that does
// not answer then is a fallback, not an error. Errors never quote the URL's password.
func Dial(rawURL string, opt Options) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, errors.New("fleet: Redis URL: not a URL; want redis://[user:password@]host:port[/db], rediss:// for TLS")
	}
	shown := RedactURL(u)
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("fleet: Redis URL %s: %w", shown, err)
	}
	if opt.TLS != nil {
		if ro.TLSConfig == nil {
			return nil, fmt.Errorf("fleet: Redis URL %s: a TLS configuration was given for a plain connection; use rediss://", shown)
		}
		cfg := opt.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = ro.TLSConfig.ServerName
		}
		ro.TLSConfig = cfg
	}
	rdb := redis.NewClient(ro)
	c, err := New(rdb, opt)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	c.conn, c.where = rdb, shown
	return c, nil
}

// RedactURL returns u without its password, for messages.
func RedactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		if _, ok := c.User.Password(); ok {
			c.User = url.UserPassword(c.User.Username(), "REDACTED")
		}
	}
	return c.String()
}
