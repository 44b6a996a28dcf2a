package middleware

import (
	"github.com/aws/aws-sdk-go-v2/config"
	smithymiddleware "github.com/aws/smithy-go/middleware"
)

// WithTollgate returns a config.LoadDefaultConfig option that installs t in every client made
// from the config: its retryer replaces the SDK's (and the SDK's retry quota with it), and its
// middleware gates and observes every attempt.
//
//	cfg, err := config.LoadDefaultConfig(ctx, middleware.WithTollgate(tg))
//	s3Client := s3.NewFromConfig(cfg)
func WithTollgate(t *Tollgate) config.LoadOptionsFunc {
	return func(o *config.LoadOptions) error {
		o.Retryer = t.NewRetryer
		o.APIOptions = append(o.APIOptions, t.AddToStack)
		return nil
	}
}

// AddToStack installs t's middleware in one operation's stack; use it as an APIOptions entry to
// install tollgate in a single client, together with NewRetryer:
//
//	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
//		o.Retryer = tg.NewRetryer()
//		o.APIOptions = append(o.APIOptions, tg.AddToStack)
//	})
//
// It adds "tollgate.Call" at the end of the Initialize step (once per call, where the input is
// known) and "tollgate.Attempt" right after the SDK's "Retry" middleware in the Finalize step
// (once per attempt, before signing). Stacks without "Retry" — presigning — are left alone.
func (t *Tollgate) AddToStack(stack *smithymiddleware.Stack) error {
	if _, ok := stack.Finalize.Get("Retry"); !ok {
		return nil
	}
	if err := stack.Initialize.Add(t.initialize, smithymiddleware.After); err != nil {
		return err
	}
	return stack.Finalize.Insert(t.attempt, "Retry", smithymiddleware.After)
}
