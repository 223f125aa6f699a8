package ingest

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the gateway's Prometheus series.
type Metrics struct {
	RecordsIngested  prometheus.Counter
	RecordsDuplicate prometheus.Counter
	RecordsRejected  prometheus.Counter
	RecordsRefused   prometheus.Counter
	CloneAlerts      prometheus.Counter
	BatchesRejected  *prometheus.CounterVec
	StatesRejected   prometheus.Counter
	CommitSeconds    prometheus.Histogram
	AckSeconds       prometheus.Histogram
	StationsOnline   prometheus.Gauge
}

// NewMetrics makes the gateway's series and registers them with reg, when
// reg is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RecordsIngested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leifeng_records_ingested_total", Help: "Records committed to the database for the first time."}),
		RecordsDuplicate: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leifeng_records_duplicate_total", Help: "Records received again after they were already stored (acked again, not stored twice)."}),
		RecordsRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leifeng_records_rejected_total", Help: "Single records refused inside an otherwise valid batch."}),
		RecordsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leifeng_records_refused_total", Help: "Records that passed validation but the database refused; kept in rejected_records, the rest of their batch stored."}),
		CloneAlerts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leifeng_clone_alerts_total", Help: "NTAG 424 DNA taps whose SUN counter repeated or went back, or whose SUN message was seen before: a cloned or replayed card."}),
		BatchesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leifeng_batches_rejected_total", Help: "Record batches refused or dropped, by reason."}, []string{"reason"}),
		StatesRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leifeng_states_rejected_total", Help: "Station state messages refused."}),
		CommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "leifeng_batch_commit_seconds", Help: "Time to commit one batch to the database.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		AckSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "leifeng_commit_to_ack_seconds", Help: "Time from a batch's commit to its ack accepted by the broker.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		StationsOnline: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "leifeng_stations_online", Help: "Stations whose retained state says online."}),
	}
	if reg != nil {
		reg.MustRegister(m.RecordsIngested, m.RecordsDuplicate, m.RecordsRejected, m.RecordsRefused, m.CloneAlerts, m.BatchesRejected,
			m.StatesRejected, m.CommitSeconds, m.AckSeconds, m.StationsOnline)
	}
	return m
}
