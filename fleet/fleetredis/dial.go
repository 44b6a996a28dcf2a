package fleetredis

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/fleet"
)

// Dial connects to the Redis server at rawURL and returns a fleet.Client that keeps its shared
// buckets there; closing the Client closes the connection. The URL is go-redis's
// (redis.ParseURL):
//
//	redis://[[user]:password@]host[:port][/db][?dial_timeout=1s&...]
//	rediss://...   the same over TLS, verified against the system's roots for the URL's host
//	unix:///path/to/redis.sock
//
// A user and password authenticate with Redis's AUTH (ACL users from Redis 6, or the
// requirepass password alone). fleet.Options.TLS, if set, replaces a rediss:// URL's TLS
// configuration (a private CA, a client certificate). Dial does not contact the server: the
// first lease does, bounded by fleet.Options.Timeout like every store call, and a server that does
// not answer then is a fallback, not an error. Errors never quote the URL's password.
func Dial(rawURL string, opt fleet.Options) (*fleet.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, errors.New("fleet: Redis URL: not a URL; want redis://[user:password@]host:port[/db], rediss:// for TLS")
	}
	shown := fleet.RedactURL(u)
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
	c, err := fleet.NewOwning(Conn(rdb), rdb, shown, opt)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	return c, nil
}
