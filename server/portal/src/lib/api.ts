// The portal API (/portal/api), called as web/api.ts says.
import { apiAt } from '../../../../web/api';

export { ApiError } from '../../../../web/api';
export const { api, setCsrfToken } = apiAt('/portal/api');
