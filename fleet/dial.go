package fleet

import "net/url"

// URLEnv is the environment variable tollgate's commands read the fleet store's Redis URL from
// (their --redis-url flag overrides it).
const URLEnv = "TOLLGATE_REDIS_URL"

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
