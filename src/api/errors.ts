// Errors carry the Kubernetes Status reason and HTTP code they map to, so every layer can throw
// them and the API server turns them into a metav1.Status without guessing.

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'Expired'
  | 'Gone'
  | 'InternalError';

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] },
  ) {
    super(message);
  }
}

export const notFound = (resource: string, name: string, group = '') =>
  new ApiError(404, 'NotFound', `${group ? `${resource}.${group}` : resource} "${name}" not found`, {
    name,
    group,
    kind: resource,
  });

export const alreadyExists = (resource: string, name: string, group = '') =>
  new ApiError(409, 'AlreadyExists', `${group ? `${resource}.${group}` : resource} "${name}" already exists`, {
    name,
    group,
    kind: resource,
  });

export const conflict = (resource: string, name: string, group = '') =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${group ? `${resource}.${group}` : resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group, kind: resource },
  );

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);
