package mock

import (
	"context"
	"strings"
	"time"

	"github.com/ospbox/ospbox/mock/bsp"
	"github.com/ospbox/ospbox/mock/kernel"
)

// deliverDue makes the next attempt of every webhook delivery that has fallen due, OSP's and
// BSP's alike (one queue in the state database), each by the engine that signs it.
func (s *Sandbox) deliverDue(ctx context.Context) {
	due, err := s.db.DueDeliveries(ctx, time.Now().UTC(), 20)
	if err != nil {
		s.log.Error("webhooks", "err", err)
		return
	}
	for _, d := range due {
		if kernel.Closed(s.stop) {
			return
		}
		if (scenarios{s}).failDelivery(ctx, d) {
			continue
		}
		if strings.HasPrefix(d.ResourceID, bsp.DeliveryPrefix) {
			s.bsp.Deliver(ctx, d)
		} else {
			s.osp.Deliver(ctx, d)
		}
	}
}
