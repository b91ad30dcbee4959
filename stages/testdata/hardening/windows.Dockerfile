# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
RUN powershell -Command `
    Write-Host hello
USER ContainerUser
HEALTHCHECK CMD ["cmd", "/c", "exit 0"]
