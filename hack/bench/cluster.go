package main

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const namespace = "bench"

// cluster is the benchmark's direct access to the API server (the baselines use it too).
type cluster struct {
	kubeconfig, kubectl string
	config              *rest.Config
	client              kubernetes.Interface
}

func newCluster(kubeconfig, kubectl string) (*cluster, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &cluster{kubeconfig: kubeconfig, kubectl: kubectl, config: cfg, client: cs}, nil
}

// populate creates Deployments of 1,000 replicas until `pods` pods exist, and waits until they
// are all Running (kwok marks them Running without containers).
func (c *cluster) populate(ctx context.Context, pods int) error {
	_, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	per := int32(1000)
	for i := 0; pods > 0; i++ {
		n := per
		if int32(pods) < n {
			n = int32(pods)
		}
		pods -= int(n)
		labels := map[string]string{"app": fmt.Sprintf("bench-%d", i)}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", i)},
			Spec: appsv1.DeploymentSpec{
				Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						NodeSelector: map[string]string{"kubespace.io/testenv-node": "kwok"},
						Containers: []corev1.Container{{Name: "app", Image: "docker.io/library/busybox:testenv",
							Command: []string{"sleep", "infinity"}, Env: []corev1.EnvVar{{Name: "ROLE", Value: "benchmark"}}}},
					},
				},
			},
		}
		_, err := c.client.AppsV1().Deployments(namespace).Create(ctx, d, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return c.waitRunning(ctx)
}

func (c *cluster) waitRunning(ctx context.Context) error {
	want := 0
	ds, err := c.client.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, d := range ds.Items {
		want += int(*d.Spec.Replicas)
	}
	for {
		l, err := c.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return err
		}
		running := 0
		for _, p := range l.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		logf("%d of %d pods Running", running, want)
		if running >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pods did not become Running: %w", ctx.Err())
		case <-time.After(10 * time.Second):
		}
	}
}
