// The pages of the Pipelines area reached from its menu pages: one workspace, the editor, a
// pipeline's runs and one run.
import type { RouteRecordRaw } from 'vue-router'

export const pipelineRoutes: RouteRecordRaw[] = [
  {
    path: 'pipelines/workspaces/:id(\\d+)',
    name: 'pipeline-workspace',
    component: () => import('./PipelineWorkspaceView.vue'),
    meta: { title: 'pnav.workspaces', menu: 'pipeline-workspaces' },
  },
  {
    path: 'pipelines/workspaces/:id(\\d+)/new',
    name: 'pipeline-new',
    component: () => import('./PipelineEditor.vue'),
    meta: { title: 'editor.newTitle', menu: 'pipeline-workspaces' },
  },
  {
    path: 'pipelines/:pipelineId(\\d+)/edit',
    name: 'pipeline-edit',
    component: () => import('./PipelineEditor.vue'),
    meta: { title: 'pnav.workspaces', menu: 'pipeline-workspaces' },
  },
  {
    path: 'pipelines/:pipelineId(\\d+)/runs',
    name: 'pipeline-runs',
    component: () => import('./PipelineRunsView.vue'),
    meta: { title: 'pnav.workspaces', menu: 'pipeline-workspaces' },
  },
  {
    path: 'pipelines/runs/:runId(\\d+)',
    name: 'pipeline-run',
    component: () => import('./PipelineRunView.vue'),
    meta: { title: 'pnav.workspaces', menu: 'pipeline-workspaces' },
  },
]
