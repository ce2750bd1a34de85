#!/usr/bin/env bash
# bench/store_io.sh BUILD N INTERVAL WARM MEASURE — what the store costs the loop: N probes
# against probed-simapi (loopback), every INTERVAL; after WARM seconds, for MEASURE seconds:
# bytes written by the probed process (/proc/PID/io write_bytes, all threads: the loop's WAL
# commits and the checkpoint thread's copies) per result stored, and start lateness
# p50/p99/max from results.lateness_us. The loop thread's own writes since start are shown
# apart (loopthread_total). Used for issue 10 with: 1000 1s 8 30, three interleaved rounds.
set -u
B=$1; N=$2; IV=$3; WARM=$4; MEAS=$5
W=$(mktemp -d /tmp/smeas.XXXX)
KEY=k-$RANDOM$RANDOM
$B/probed-simapi --listen 127.0.0.1:0 --port-file $W/sp --key $KEY --quiet 2>/dev/null & SP_PID=$!
for i in $(seq 50); do [ -s $W/sp ] && break; sleep 0.1; done
SP=$(cat $W/sp)
{
printf 'defaults:\n  interval: %s\n  timeout: 5s\n  headers: {X-Api-Key: "%s"}\n' $IV $KEY
printf 'store: {path: %s/db, retention: 1d}\nprobes:\n' $W
for ((i=1;i<=N;i++)); do
printf '  - name: p%05d\n    family: userid\n    url: http://127.0.0.1:%s/userid/?n=%d\n' $i $SP $i
printf '    expect: {status: [200], max_latency: 2s, json: {type: object, required: [id], properties: {id: {type: string, minLength: 1}}}}\n'
done; } > $W/c.yaml
$B/probed -c $W/c.yaml 2>$W/log & P=$!
sleep $WARM
t0=$(( $(date +%s%N) / 1000000 ))
w0=$(awk '/^write_bytes/{print $2}' /proc/$P/io)
sleep $MEAS
w1=$(awk '/^write_bytes/{print $2}' /proc/$P/io)
wl=$(awk '/^write_bytes/{print $2}' /proc/$P/task/$P/io)
t1=$(( $(date +%s%N) / 1000000 ))
kill $P; wait $P 2>/dev/null
rows=$(sqlite3 $W/db "select count(*) from results where ts_ms >= $t0 and ts_ms < $t1")
sqlite3 $W/db "select lateness_us from results where ts_ms >= $t0 and ts_ms < $t1 order by lateness_us" > $W/lat
awk -v rows=$rows -v wb=$((w1-w0)) -v wl=$wl '{a[NR]=$1} END{n=NR; printf "rows=%d write_bytes=%d loopthread_total=%d bytes/result=%.0f lat_p50_us=%d p99_us=%d max_us=%d\n", rows, wb, wl, wb/rows, a[int(n*0.5)+1], a[int(n*0.99)+1], a[n]}' $W/lat
kill $SP_PID; wait $SP_PID 2>/dev/null; rm -rf $W
