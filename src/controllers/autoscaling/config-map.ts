// The cluster-wide autoscaler settings live where Knative keeps them: ConfigMap
// knative-serving/config-autoscaler. Sluice writes it with every key at its default when it is
// missing (Knative ships only an _example block; explicit keys are easier to edit).

import type { KObject } from '../../api/types.js';

export const CONFIG_NAMESPACE = 'knative-serving';
export const AUTOSCALER_CONFIGMAP = 'config-autoscaler';
/** Set on the ConfigMap while its data is refused (the previous settings stay in force). */
export const CONFIG_ERROR_ANNOTATION = 'autoscaling.sluice.dev/config-error';

/** Knative's defaults, spelled as Knative's documentation spells them, then Sluice's own keys. */
export function defaultAutoscalerConfigData(): Record<string, string> {
  return {
    'container-concurrency-target-percentage': '70',
    'container-concurrency-target-default': '100',
    'requests-per-second-target-default': '200',
    'target-burst-capacity': '211',
    'stable-window': '60s',
    'panic-window-percentage': '10.0',
    'panic-threshold-percentage': '200.0',
    'max-scale-up-rate': '1000.0',
    'max-scale-down-rate': '2.0',
    'enable-scale-to-zero': 'true',
    'scale-to-zero-grace-period': '30s',
    'scale-to-zero-pod-retention-period': '0s',
    'pod-autoscaler-class': 'kpa.autoscaling.knative.dev',
    'activator-capacity': '100.0',
    'initial-scale': '1',
    'allow-zero-initial-scale': 'false',
    'min-scale': '0',
    'max-scale': '0',
    'max-scale-limit': '0',
    'scale-down-delay': '0s',
    // Sluice
    'activation-scale': '1',
    'tick-interval': '2s',
    'hpa-scale-down-stabilization-window': '300s',
    'hpa-scale-up-stabilization-window': '0s',
    'hpa-tolerance': '0.1',
    'event-gateway-idle-timeout': '60s',
    'plugin-timeout': '1s',
  };
}

export function autoscalerConfigMap(data: Record<string, string>): KObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: AUTOSCALER_CONFIGMAP,
      namespace: CONFIG_NAMESPACE,
      labels: { 'app.kubernetes.io/name': 'knative-serving', 'app.kubernetes.io/component': 'autoscaler' },
    },
    data,
  };
}

/** The ConfigMap's data as strings; a non-string value is kept so parsing reports it clearly. */
export function configData(cm: KObject | undefined): Record<string, string> {
  const d = cm?.data;
  return d && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, string>) : {};
}
