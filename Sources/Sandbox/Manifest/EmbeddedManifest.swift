// A copy of deploy/redis-statefulset.yaml, so the binary works outside the repo.
// Keep identical to the file (RuntimeUnitTests compares them): paste the file between the
// delimiters, keeping the empty line before the closing one (the file ends with a newline).
public enum EmbeddedManifest {
    public static let redisStatefulSet = #"""
# Redis for cache and BullMQ job queues, as decided in ADR 0005 (plain StatefulSet, no
# operator): one replica, AOF with fsync every second, noeviction, redis-exporter sidecar,
# ServiceMonitor, optional backup CronJob.
#
# Differences from the ADR's snippet, each something a health check flags:
#   - `--maxmemory` is set (384mb = 75% of the 512Mi limit): without it Redis grows until the
#     kernel OOM-kills it, and noeviction never gets a chance to reject writes. The 25%
#     headroom covers fork copy-on-write during AOF rewrites, buffers and fragmentation.
#   - redis-server arguments are separate argv items: in exec form `- --appendonly yes` is ONE
#     argument, which Redis does not parse as intended.
#   - memory request = limit, so the node never evicts Redis under memory pressure first.
#   - a readiness probe that requires PONG (LOADING and MISCONF replies make it fail,
#     while `redis-cli ping` alone exits 0 on them).
#   - the exporter points at localhost:6379 (same pod) and its image is pinned, not :latest;
#     it exports the BullMQ wait lists' lengths (--check-single-keys) for the alert rules.
#   - the Service the StatefulSet names (serviceName: redis) exists, headless.
#   - the backup CronJob does not `sleep 10` after BGSAVE and hope: `redis-cli --rdb` asks the
#     server for a fresh snapshot and returns only once it is complete, over the network, so
#     the job does not mount redis-0's ReadWriteOnce volume either.
#
# The sandbox (`redis-runbook sandbox up`) reads this file to build its StatefulSet.
apiVersion: v1
kind: Service
metadata:
  name: redis
  labels:
    app: redis
spec:
  clusterIP: None
  selector:
    app: redis
  ports:
  - name: redis
    port: 6379
    targetPort: redis
  - name: metrics
    port: 9121
    targetPort: metrics
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: redis
  labels:
    app: redis
spec:
  serviceName: redis
  replicas: 1
  selector:
    matchLabels:
      app: redis
  template:
    metadata:
      labels:
        app: redis
    spec:
      terminationGracePeriodSeconds: 30
      containers:
      - name: redis
        image: redis:7.0.15-alpine
        command:
        - redis-server
        args:
        - --appendonly
        - "yes"
        - --appendfsync
        - everysec
        - --maxmemory
        - 384mb
        - --maxmemory-policy
        - noeviction  # BullMQ requirement
        ports:
        - containerPort: 6379
          name: redis
        readinessProbe:
          exec:
            command:
            - sh
            - -c
            - redis-cli ping | grep -q PONG
          periodSeconds: 5
          timeoutSeconds: 2
          failureThreshold: 3
        volumeMounts:
        - name: data
          mountPath: /data
        resources:
          requests:
            cpu: 100m
            memory: 512Mi
          limits:
            cpu: 500m
            memory: 512Mi

      # Monitoring sidecar
      - name: redis-exporter
        image: oliver006/redis_exporter:v1.45.0
        args:
        - --redis.addr=redis://localhost:6379
        - --web.listen-address=:9121
        # redis_key_size{key="bull:<queue>:wait"} for the BullMQ backlog alert
        # (deploy/alerts/): list every queue's wait list here. (--check-keys=bull:*:wait finds
        # them with a SCAN on every scrape instead, which costs more on a large keyspace.)
        - --check-single-keys=bull:email:wait,bull:reports:wait,bull:webhooks:wait
        ports:
        - containerPort: 9121
          name: metrics
        resources:
          requests:
            cpu: 10m
            memory: 32Mi
          limits:
            cpu: 50m
            memory: 64Mi

  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: ["ReadWriteOnce"]
      storageClassName: longhorn
      resources:
        requests:
          storage: 10Gi
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: redis
  labels:
    app: redis
spec:
  selector:
    matchLabels:
      app: redis
  endpoints:
  - port: metrics
    interval: 30s
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: redis-backup
spec:
  accessModes: ["ReadWriteOnce"]
  storageClassName: longhorn
  resources:
    requests:
      storage: 10Gi
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: redis-backup
spec:
  schedule: "0 2 * * *"  # Daily at 2 AM
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: backup
            image: redis:7.0.15-alpine
            command:
            - /bin/sh
            - -c
            - |
              set -eu
              out=/backup/dump-$(date +%Y%m%d).rdb
              # --rdb makes the server produce a fresh snapshot and exits once it is fully received
              redis-cli -h redis-0.redis --rdb "$out.tmp"
              redis-check-rdb "$out.tmp"
              mv "$out.tmp" "$out"
              find /backup -name 'dump-*.rdb' -mtime +7 -delete
            volumeMounts:
            - name: backup
              mountPath: /backup
          volumes:
          - name: backup
            persistentVolumeClaim:
              claimName: redis-backup

"""#
}
