package storage

import (
	"context"
)

// ScenarioRule is a stored scenario rule: its JSON text and its counters.
type ScenarioRule struct {
	ID      string
	Rule    string // the rule as JSON, without its counters
	Matched int
	Hits    int
}

// ScenarioRules lists the namespace's rules in their order.
func (db *DB) ScenarioRules(ctx context.Context) ([]ScenarioRule, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, rule, matched, hits FROM scenario_rules ORDER BY position, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ScenarioRule
	for rows.Next() {
		var r ScenarioRule
		if err := rows.Scan(&r.ID, &r.Rule, &r.Matched, &r.Hits); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReplaceScenarioRules makes rules the namespace's rules, in that order.
func (db *DB) ReplaceScenarioRules(ctx context.Context, rules []ScenarioRule) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM scenario_rules`); err != nil {
			return err
		}
		for i, r := range rules {
			if _, err := tx.ExecContext(ctx, `INSERT INTO scenario_rules (id, position, rule, matched, hits) VALUES (?, ?, ?, ?, ?)`,
				r.ID, i, r.Rule, r.Matched, r.Hits); err != nil {
				return err
			}
		}
		tx.Changed("scenarios", "", "replace")
		return nil
	})
}

// CountScenarioRules stores the counters of the rules a call changed.
func (db *DB) CountScenarioRules(ctx context.Context, counts []ScenarioRule) error {
	return db.Update(ctx, func(tx *Tx) error {
		for _, c := range counts {
			if _, err := tx.ExecContext(ctx, `UPDATE scenario_rules SET matched = ?, hits = ? WHERE id = ?`, c.Matched, c.Hits, c.ID); err != nil {
				return err
			}
		}
		tx.Changed("scenarios", "", "count")
		return nil
	})
}

// ScenarioFilesLoaded reports whether the workspace's scenario files were loaded into this state.
func (db *DB) ScenarioFilesLoaded(ctx context.Context) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM scenario_files_loaded`).Scan(&n)
	return n > 0, err
}

// MarkScenarioFilesLoaded records that they were.
func (db *DB) MarkScenarioFilesLoaded(ctx context.Context) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO scenario_files_loaded (id) VALUES (1)`)
		return err
	})
}
