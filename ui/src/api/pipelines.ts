// Typed client of the pipelines area: pipeline workspaces, pipelines, runs, plugins, job logs,
// spacelets and their registration tokens (API.md "Pipelines", "Spacelets", "Live updates").
import { http, stream, type Query } from './client'
import type { List } from './types'

export type PipelineWorkspaceType = 'code' | 'custom'
export type CodeProvider = 'github' | 'gitlab' | 'gitee' | 'git'

/** A pipeline workspace: bound to one repository (code) or made of pipelines (custom). */
export interface PipelineWorkspace {
  id: number
  name: string
  description: string
  type: PipelineWorkspaceType
  code_provider?: CodeProvider | ''
  code_url?: string
  code_secret_id?: number
  insecure_skip_tls_verify?: boolean
  insecure_ignore_host_key?: boolean
  known_hosts?: string
  created_at?: string
  updated_at?: string
}

export interface PipelineWorkspaceWrite {
  name?: string
  description: string
  type?: PipelineWorkspaceType
  code_provider?: CodeProvider
  code_url?: string
  code_secret_id?: number
  insecure_skip_tls_verify?: boolean
  insecure_ignore_host_key?: boolean
  known_hosts?: string
}

/** A branch of a code workspace's repository, read over the git protocol. */
export interface Branch {
  name: string
  commit: string
  message?: string
  author?: string
  time?: string
}

export type RunStatus = 'wait' | 'doing' | 'ok' | 'error' | 'pause' | 'cancel' | 'canceled'

export const TERMINAL: readonly string[] = ['ok', 'error', 'canceled']

export interface BranchRule {
  type: 'exact' | 'exclude' | 'regex'
  pattern: string
}

export interface PipelineSource {
  type: 'code' | 'pipeline'
  branches?: BranchRule[]
  pipeline_id?: number
}

export interface PipelineTrigger {
  type: 'cron' | 'push' | 'pipeline'
  schedule?: string
  time_zone?: string
  poll?: boolean
  pipeline_id?: number
}

export interface StageParam {
  name: string
  default?: string
  description?: string
}

export interface JobSchedule {
  hostname?: string
  labels?: Record<string, string>
}

export interface JobDef {
  name: string
  plugin_key: string
  params: Record<string, unknown>
  schedule?: JobSchedule
  timeout_seconds?: number
  retries?: number
}

export interface StageDef {
  name: string
  trigger_mode: 'auto' | 'manual'
  custom_params?: StageParam[]
  jobs: JobDef[]
}

/** A pipeline definition: the body of create/update and the YAML of export/import. */
export interface PipelineDefinition {
  name: string
  description?: string
  sources: PipelineSource[]
  triggers: PipelineTrigger[]
  stages: StageDef[]
}

/** A run as lists show it (no stages needed). */
export interface RunSummary {
  id: number
  pipeline_id: number
  build_number: number
  status: RunStatus
  trigger: string
  trigger_user?: string
  reason?: string
  created_at?: string
  started_at?: string | null
  finished_at?: string | null
}

export interface Pipeline extends PipelineDefinition {
  id: number
  workspace_id: number
  /** Some answers nest the definition instead of spreading it. */
  definition?: PipelineDefinition
  last_run?: RunSummary | null
  created_at?: string
  updated_at?: string
}

export interface JobRun {
  id: number
  name: string
  plugin_key: string
  status: RunStatus
  spacelet_id?: number
  spacelet_name?: string
  outputs?: Record<string, string> | null
  message?: string
  reason?: string
  exit_code?: number
  attempt?: number
  started_at?: string | null
  finished_at?: string | null
}

export interface StageRun {
  id: number
  name: string
  status: RunStatus
  trigger_mode?: 'auto' | 'manual'
  custom_params?: StageParam[] | Record<string, string> | null
  executed_by?: string
  jobs: JobRun[]
  started_at?: string | null
  finished_at?: string | null
}

export interface PipelineRun extends RunSummary {
  workspace_id?: number
  env?: Record<string, string> | null
  params?: Record<string, string> | null
  sources?: { type: string; branch?: string; commit_id?: string; pipeline_id?: number; run_id?: number; build_number?: number }[]
  /** Absent from lists. */
  stages?: StageRun[]
}

export interface RunStart {
  branch?: string
  commit?: string
  params?: Record<string, string>
  sources?: { pipeline_id: number; run_id: number }[]
}

export type StageAction = 'execute' | 'cancel' | 'retry' | 'reexecute'

export interface PipelinePlugin {
  key: string
  name: string
  /** A JSON Schema of the job's params; the editor draws its form from it. */
  params_schema: JsonSchema
}

/** The part of JSON Schema the job forms understand. */
export interface JsonSchema {
  type?: string | string[]
  title?: string
  description?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  enum?: unknown[]
  default?: unknown
  format?: string
  items?: JsonSchema
  minimum?: number
  maximum?: number
  additionalProperties?: boolean | JsonSchema
  [key: string]: unknown
}

export type SpaceletStatus = 'online' | 'offline'

export interface Spacelet {
  id: number
  name: string
  hostname: string
  labels: Record<string, string> | null
  capacity: number
  /** Jobs assigned that wait or run (its load). */
  running?: number
  version: string
  os?: string
  arch?: string
  status: SpaceletStatus
  draining: boolean
  last_seen_at?: string | null
  created_at?: string
}

export interface SpaceletUpdate {
  labels?: Record<string, string>
  draining?: boolean
}

export interface SpaceletToken {
  id: number
  name: string
  prefix?: string
  expires_at?: string | null
  last_used_at?: string | null
  created_at: string
}

export interface SpaceletTokenCreated extends SpaceletToken {
  token: string
  /** The one-line start command of a spacelet using this token. */
  command?: string
}

export const pipelineWorkspacesApi = {
  list: (query: Query = {}) => http.get<List<PipelineWorkspace>>('/pipeline-workspaces', query),
  get: (id: number) => http.get<PipelineWorkspace>(`/pipeline-workspaces/${id}`),
  create: (body: PipelineWorkspaceWrite) => http.post<PipelineWorkspace>('/pipeline-workspaces', body),
  update: (id: number, body: PipelineWorkspaceWrite) => http.put<PipelineWorkspace>(`/pipeline-workspaces/${id}`, body),
  remove: (id: number) => http.del(`/pipeline-workspaces/${id}`),
  branches: (id: number, query: Query = {}) => http.get<List<Branch>>(`/pipeline-workspaces/${id}/branches`, query),
  /** The secret push webhooks are signed with (workspace admins). */
  webhookSecret: (id: number) => http.get<{ secret: string }>(`/pipeline-workspaces/${id}/webhook-secret`),
  rotateWebhookSecret: (id: number) => http.post<{ secret: string }>(`/pipeline-workspaces/${id}/webhook-secret`, {}),
}

export const pipelinesApi = {
  list: (workspaceId: number, query: Query = {}) =>
    http.get<List<Pipeline>>(`/pipeline-workspaces/${workspaceId}/pipelines`, query),
  get: (id: number) => http.get<Pipeline>(`/pipelines/${id}`),
  create: (workspaceId: number, body: PipelineDefinition) =>
    http.post<Pipeline>(`/pipeline-workspaces/${workspaceId}/pipelines`, body),
  update: (id: number, body: PipelineDefinition) => http.put<Pipeline>(`/pipelines/${id}`, body),
  remove: (id: number) => http.del(`/pipelines/${id}`),
  /** exportYaml returns the pipeline's definition as YAML text. */
  exportYaml: async (id: number): Promise<string> => {
    const res = await stream(`/pipelines/${id}/export`)
    return res.text()
  },
  /** importYaml creates a pipeline from YAML text (errors name the line and the field). */
  importYaml: (workspaceId: number, yaml: string) =>
    http.post<Pipeline>(`/pipeline-workspaces/${workspaceId}/pipelines/import`, { yaml }),
}

export const runsApi = {
  list: (pipelineId: number, query: Query = {}) => http.get<List<PipelineRun>>(`/pipelines/${pipelineId}/runs`, query),
  start: (pipelineId: number, body: RunStart) => http.post<PipelineRun>(`/pipelines/${pipelineId}/runs`, body),
  get: (id: number) => http.get<PipelineRun>(`/pipeline-runs/${id}`),
  cancel: (id: number) => http.post<PipelineRun>(`/pipeline-runs/${id}/cancel`, {}),
  stageAction: (runId: number, stageRunId: number, action: StageAction, params?: Record<string, string>) =>
    http.post<PipelineRun>(`/pipeline-runs/${runId}/stages/${stageRunId}/${action}`, params ? { params } : {}),
}

export const pluginsApi = {
  list: () => http.get<List<PipelinePlugin>>('/pipeline-plugins'),
}

export const jobLogsApi = {
  /** follow opens the job's log from a byte offset; with follow the server streams while the job runs. */
  open: (jobRunId: number, offset: number, follow: boolean, signal?: AbortSignal) =>
    stream(`/job-runs/${jobRunId}/log`, { offset, follow: follow || undefined }, signal),
}

export const spaceletsApi = {
  list: (query: Query = {}) => http.get<List<Spacelet>>('/spacelets', query),
  update: (id: number, body: SpaceletUpdate) => http.put<Spacelet>(`/spacelets/${id}`, body),
  remove: (id: number) => http.del(`/spacelets/${id}`),
  tokens: (query: Query = {}) => http.get<List<SpaceletToken>>('/spacelet-tokens', query),
  createToken: (body: { name: string; expires_in_hours?: number }) => http.post<SpaceletTokenCreated>('/spacelet-tokens', body),
  removeToken: (id: number) => http.del(`/spacelet-tokens/${id}`),
}

/** definitionOf reads a pipeline's definition whether the answer nests or spreads it. */
export function definitionOf(p: Pipeline): PipelineDefinition {
  const d = p.definition ?? p
  return {
    name: d.name ?? p.name,
    description: d.description ?? p.description ?? '',
    sources: d.sources ?? [],
    triggers: d.triggers ?? [],
    stages: (d.stages ?? []).map((s) => ({
      ...s,
      custom_params: s.custom_params ?? [],
      jobs: (s.jobs ?? []).map((j) => ({ ...j, params: j.params ?? {} })),
    })),
  }
}
