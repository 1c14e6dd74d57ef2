package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kubespace/kubespace/pkg/store"
)

// triggerStore implements store.Triggers.
type triggerStore struct{ d *DB }

var _ store.Triggers = (*triggerStore)(nil)

func triggerRef(pipelineID int64, key string) string {
	return fmt.Sprintf("trigger state %q of %s", key, pipelineRef(pipelineID))
}

// State implements store.Triggers.
func (s *triggerStore) State(ctx context.Context, pipelineID int64, key string) (string, error) {
	var st store.TriggerState
	err := s.d.conn(ctx).Where("pipeline_id = ? AND state_key = ?", pipelineID, key).Take(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	if err != nil {
		return "", dbErr(err, "get", triggerRef(pipelineID, key))
	}
	return st.Value, nil
}

// SetState implements store.Triggers.
func (s *triggerStore) SetState(ctx context.Context, pipelineID int64, key, old, value string) (bool, error) {
	if old == "" {
		err := s.d.conn(ctx).Create(&store.TriggerState{PipelineID: pipelineID, Key: key, Value: value}).Error
		if isUniqueViolation(err) {
			return false, nil
		}
		return err == nil, dbErr(err, "create", triggerRef(pipelineID, key))
	}
	res := s.d.conn(ctx).Model(&store.TriggerState{}).Where("pipeline_id = ? AND state_key = ? AND value = ?", pipelineID, key, old).
		UpdateColumns(map[string]any{"value": value, "updated_at": normTime(time.Now())})
	if res.Error != nil {
		return false, dbErr(res.Error, "update", triggerRef(pipelineID, key))
	}
	return res.RowsAffected == 1, nil
}

// DeleteStates implements store.Triggers.
func (s *triggerStore) DeleteStates(ctx context.Context, pipelineID int64) error {
	_, err := deleteWhere(ctx, s.d, &store.TriggerState{}, "trigger state of "+pipelineRef(pipelineID), "pipeline_id = ?", pipelineID)
	return err
}

// RecordDelivery implements store.Triggers.
func (s *triggerStore) RecordDelivery(ctx context.Context, d *store.WebhookDelivery) (bool, error) {
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = time.Now()
	}
	err := s.d.conn(ctx).Create(d).Error
	if isUniqueViolation(err) {
		return false, nil
	}
	return err == nil, dbErr(err, "record", fmt.Sprintf("webhook delivery %q", d.DeliveryID))
}

// ForgetDelivery implements store.Triggers.
func (s *triggerStore) ForgetDelivery(ctx context.Context, workspaceID int64, deliveryID string) error {
	_, err := deleteWhere(ctx, s.d, &store.WebhookDelivery{}, fmt.Sprintf("webhook delivery %q", deliveryID),
		"workspace_id = ? AND delivery_id = ?", workspaceID, deliveryID)
	return err
}

// DeleteDeliveriesBefore implements store.Triggers.
func (s *triggerStore) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	return deleteWhere(ctx, s.d, &store.WebhookDelivery{}, "old webhook deliveries", "received_at < ?", normTime(t))
}
