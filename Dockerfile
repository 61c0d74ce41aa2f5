# One image for both production roles: `sophon api` and `sophon worker`.
FROM node:20-bookworm-slim
WORKDIR /opt/sophon
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
ENTRYPOINT ["node", "bin/sophon.js"]
CMD ["api"]
