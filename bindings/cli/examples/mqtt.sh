#!/bin/sh
# Publishes every presence event of the signed-in user and of the watched contacts to MQTT:
# one JSON object per message on topic ucwa/<event> (e.g. ucwa/presence, ucwa/contact_presence),
# for Home Assistant or any other subscriber. Needs mosquitto-clients and jq.
#   UCWA_SERVER=contoso.com UCWA_USER=alice@contoso.com ./mqtt.sh sip:bob@contoso.com
# The password comes from the OS store (`ucwa login`) or --password-env / --password-file.
set -eu
BROKER=${MQTT_BROKER:-localhost}
ucwa watch --json --contacts "$@" | while IFS= read -r line; do
  event=$(printf '%s' "$line" | jq -r .event)
  printf '%s\n' "$line" | mosquitto_pub -h "$BROKER" -t "ucwa/$event" -l
done
# Simplest form, every event on one topic:
#   ucwa watch --json | mosquitto_pub -h localhost -t ucwa/events -l
