package database

import (
	"context"
	"fmt"
	"sync"

	"github.com/portico-dev/portico/ent"
)

// InTx runs fn in the request's transaction when there is one (entgql.Transactioner
// opens one per mutation), otherwise in a new transaction it commits or rolls back.
// Either way, everything fn writes lands together or not at all.
func InTx(ctx context.Context, client *ent.Client, fn func(ctx context.Context, tx *ent.Tx) error) (err error) {
	if tx := ent.TxFromContext(ctx); tx != nil {
		return fn(ctx, tx)
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	ctx = ent.NewTxContext(ent.NewContext(ctx, tx.Client()), tx)
	if err := fn(ctx, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// afterCommit holds, per open transaction, the callbacks to run once it commits.
var afterCommit sync.Map // *ent.Tx -> *[]func()

// AfterCommit runs f once tx has committed, never when it rolls back: side effects such
// as policy updates and published events must not outrun the data. Callbacks run in the
// order they were registered (ent nests commit hooks, which would reverse them, so one
// hook per transaction runs the whole queue).
func AfterCommit(tx *ent.Tx, f func()) {
	q, loaded := afterCommit.LoadOrStore(tx, &[]func(){})
	queue := q.(*[]func())
	*queue = append(*queue, f)
	if loaded {
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			afterCommit.Delete(tx)
			if err != nil {
				return err
			}
			for _, f := range *queue {
				f()
			}
			return nil
		})
	})
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			afterCommit.Delete(tx)
			return next.Rollback(ctx, tx)
		})
	})
}

// Reader returns the client a read should use: the request's transaction when there is
// one (so a mutation reads its own uncommitted writes), else client.
func Reader(ctx context.Context, client *ent.Client) *ent.Client {
	if tx := ent.TxFromContext(ctx); tx != nil {
		return tx.Client()
	}
	return client
}
