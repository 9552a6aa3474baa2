package database

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// TestWriterQueueOrder: transactions waiting for the writer get it in order of arrival,
// on SQLite's one writer and on PostgreSQL's writers (a pool of one here).
func TestWriterQueueOrder(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		_, d, _ := openSQLite(t)
		checkQueueOrder(t, d, d.queue, "INSERT INTO t (v) VALUES (?)", "SELECT v FROM t ORDER BY rowid")
	})
	t.Run("postgres", func(t *testing.T) {
		_, d := openPostgres(t)
		checkQueueOrder(t, d, d.queue, "INSERT INTO t (v) VALUES ($1)", "SELECT v FROM t ORDER BY seq")
	})
}

// checkQueueOrder holds the only writer, queues ten transactions one after another, each
// inserting its number with insert, frees the writer and checks that inOrder reads the
// numbers 0..10.
func checkQueueOrder(t *testing.T, d dialect.Driver, q *writerQueue, insert, inOrder string) {
	ctx := context.Background()
	held, _ := d.Tx(ctx)
	exec(t, held, insert, 0)
	done := make(chan error, 10)
	for i := 1; i <= cap(done); i++ {
		go func() {
			tx, _ := d.Tx(ctx)
			err := tx.Exec(ctx, insert, []any{i}, new(sql.Result))
			if err == nil {
				err = tx.Commit()
			}
			done <- err
		}()
		for q.waiting.Load() < int32(i) { // until it is in the queue
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // from the count to the channel's wait list
	}
	if err := held.Commit(); err != nil {
		t.Fatal(err)
	}
	for range cap(done) {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var rows entsql.Rows
	if err := d.Query(ctx, inOrder, []any{}, &rows); err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	if err := entsql.ScanSlice(&rows, &got); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("writes ran in the order %v, want 0..10", got)
		}
	}
}
