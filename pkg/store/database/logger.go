package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// gormLogger routes GORM's logging into slog. Query arguments are never logged: they may hold
// password hashes, token hashes or sealed secrets. Slow queries are warnings; failed queries are
// debug only, because the store returns every error and its caller logs it once.
type gormLogger struct {
	log   *slog.Logger
	slow  time.Duration
	level logger.LogLevel
}

func newGormLogger(log *slog.Logger, slow time.Duration) *gormLogger {
	return &gormLogger{log: log, slow: slow, level: logger.Warn}
}

// LogMode implements logger.Interface.
func (l *gormLogger) LogMode(level logger.LogLevel) logger.Interface {
	c := *l
	c.level = level
	return &c
}

// Info implements logger.Interface.
func (l *gormLogger) Info(ctx context.Context, format string, args ...any) {
	if l.level >= logger.Info {
		l.log.InfoContext(ctx, "gorm", "detail", fmt.Sprintf(format, args...))
	}
}

// Warn implements logger.Interface.
func (l *gormLogger) Warn(ctx context.Context, format string, args ...any) {
	if l.level >= logger.Warn {
		l.log.WarnContext(ctx, "gorm", "detail", fmt.Sprintf(format, args...))
	}
}

// Error implements logger.Interface.
func (l *gormLogger) Error(ctx context.Context, format string, args ...any) {
	if l.level >= logger.Error {
		l.log.ErrorContext(ctx, "gorm", "detail", fmt.Sprintf(format, args...))
	}
}

// ParamsFilter makes GORM render statements with placeholders instead of the argument values.
func (l *gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

// Trace implements logger.Interface; it runs after every statement.
func (l *gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if l.level <= logger.Silent {
		return
	}
	elapsed := time.Since(begin)
	switch {
	case err != nil && !expectedErr(err):
		if l.log.Enabled(ctx, slog.LevelDebug) {
			sql, rows := fc()
			l.log.DebugContext(ctx, "database query failed", "sql", sql, "rows", rows,
				"elapsed_ms", elapsed.Milliseconds(), "error", err)
		}
	case elapsed >= l.slow:
		sql, rows := fc()
		l.log.WarnContext(ctx, "slow database query", "sql", sql, "rows", rows,
			"elapsed_ms", elapsed.Milliseconds(), "threshold_ms", l.slow.Milliseconds())
	case l.level >= logger.Info && l.log.Enabled(ctx, slog.LevelDebug):
		sql, rows := fc()
		l.log.DebugContext(ctx, "database query", "sql", sql, "rows", rows, "elapsed_ms", elapsed.Milliseconds())
	}
}

// expectedErr reports errors that are normal outcomes, not worth a log line even at debug.
// Duplicate-key errors are skipped also because their text quotes the duplicated value.
func expectedErr(err error) bool {
	return errors.Is(err, gorm.ErrRecordNotFound) || isUniqueViolation(err) ||
		errors.Is(err, context.Canceled)
}
